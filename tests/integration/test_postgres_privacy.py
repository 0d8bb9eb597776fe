"""Privacy at the storage edge: removal leaves nothing, secrets and signals stay clean."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.memory import MemoryJira
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, PostgresEventBus
from agiletoolbox.adapters.postgres.encryption import UndecryptableSecret
from agiletoolbox.adapters.postgres.room_sql import CHANNEL
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.estimate import FieldSpec, FieldType
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, IssueTypeId, ProjectKey
from agiletoolbox.domain.session import SessionMode
from agiletoolbox.services.rooms import RoomService
from agiletoolbox.services.sessions import SessionService
from tests.contract.kit import OTHER_SITE, SITE, at, install, tenant
from tests.integration.database import every_row_as_text

pytestmark = pytest.mark.postgres

POINTS = FieldId("customfield_10016")
# Distinctive ids, so that a hit in a row's text can only be them.
OWNER = AccountId("712020:owner-7f3a9c")
GUEST = AccountId("712020:guest-1b2e4d")
KEPT_OWNER = AccountId("712020:keeper-55aa77")
ISSUE = IssueKey("PRIV-4242")
KEPT_ISSUE = IssueKey("KEEP-7")


def _service(database: PostgresDatabase) -> RoomService:
    return RoomService(
        database.unit_of_work,
        PostgresEventBus("unused"),
        SystemClock(),
        MemoryJira(all_issues_exist=True),
    )


async def test_removing_a_room_leaves_no_trace_of_it(
    database: PostgresDatabase, database_url: str
) -> None:
    await install(database.unit_of_work)
    rooms = _service(database)
    config = RoomConfig(field_id=POINTS)
    opened = await rooms.open(SITE, OWNER, ISSUE, config, save_default_for=None)
    kept = await rooms.open(SITE, KEPT_OWNER, KEPT_ISSUE, config)
    await rooms.join(SITE, GUEST, opened.id, Role.VOTER)
    await rooms.vote(SITE, OWNER, opened.id, "3")
    await rooms.vote(SITE, GUEST, opened.id, "5")
    await rooms.reveal(SITE, OWNER, opened.id)
    async with database.unit_of_work() as work:
        room = await work.rooms.get(SITE, opened.id)
        room.accept_estimate(OWNER, "5", FieldSpec(POINTS, FieldType.NUMBER), at(1))
        room.reset(OWNER, at(2))
        await work.rooms.save(room)
        await work.commit()
    traces = [opened.id.value, ISSUE.value, OWNER.value, GUEST.value]
    before = "\n".join(await every_row_as_text(database_url))
    assert all(trace in before for trace in traces)

    await rooms.remove(SITE, OWNER, opened.id)

    after = "\n".join(await every_row_as_text(database_url))
    assert [trace for trace in traces if trace in after] == []
    # The scan sees the other room: it would have seen this one.
    assert kept.id.value in after
    assert KEPT_ISSUE.value in after
    assert KEPT_OWNER.value in after


async def test_removing_a_session_leaves_no_trace_of_it_or_the_rooms_it_opened(
    database: PostgresDatabase, database_url: str
) -> None:
    """ "Remove session" deletes the session, its queue and the rooms it opened (with their
    votes); a room the issue had before the session stays, as its own."""
    await install(database.unit_of_work)
    rooms = _service(database)
    sessions = SessionService(
        database.unit_of_work,
        PostgresEventBus("unused"),
        SystemClock(),
        MemoryJira(all_issues_exist=True),
    )
    own = await rooms.open(SITE, KEPT_OWNER, IssueKey("PRIV-2"), RoomConfig())
    keys = [ISSUE, IssueKey("PRIV-2"), IssueKey("PRIV-4343")]
    opened = await sessions.open(
        SITE, OWNER, ProjectKey("PRIV"), keys, SessionMode.LIVE, RoomConfig(field_id=POINTS)
    )
    first = await sessions.next(SITE, OWNER, opened.id)
    room_id = first.item(ISSUE).room_id
    assert room_id is not None
    await rooms.join(SITE, GUEST, room_id, Role.VOTER)
    await rooms.vote(SITE, GUEST, room_id, "5")
    await rooms.reveal(SITE, OWNER, room_id)
    taken = await sessions.next(SITE, OWNER, opened.id)
    assert taken.item(IssueKey("PRIV-2")).room_id == own.id
    traces = [opened.id.value, room_id.value, ISSUE.value, "PRIV-4343", OWNER.value, GUEST.value]
    before = "\n".join(await every_row_as_text(database_url))
    assert all(trace in before for trace in traces)

    await sessions.remove(SITE, OWNER, opened.id)

    after = "\n".join(await every_row_as_text(database_url))
    assert [trace for trace in traces if trace in after] == []
    # The room the issue had before the session is its own: it stays, as it was.
    assert own.id.value in after
    assert KEPT_OWNER.value in after


async def test_purging_a_tenant_leaves_no_row_of_it(
    database: PostgresDatabase, database_url: str
) -> None:
    await install(database.unit_of_work, tenant(SITE), tenant(OTHER_SITE))
    rooms = _service(database)
    await rooms.open(SITE, OWNER, ISSUE, RoomConfig(), save_default_for=IssueTypeId("10001"))
    await rooms.open(OTHER_SITE, KEPT_OWNER, KEPT_ISSUE, RoomConfig())
    async with database.unit_of_work() as work:
        await work.tenants.delete(SITE)
        await work.commit()
    after = "\n".join(await every_row_as_text(database_url))
    assert SITE.value not in after
    assert OWNER.value not in after
    assert ISSUE.value not in after
    assert OTHER_SITE.value in after


async def test_the_shared_secret_is_never_stored_in_plain_text(
    database: PostgresDatabase, database_url: str
) -> None:
    secret = "plain-shared-secret-0123456789abcdef"
    await install(database.unit_of_work, tenant(SITE, secret=secret))
    rows = await every_row_as_text(database_url)
    assert not any(secret in row for row in rows)
    async with database.unit_of_work() as work:
        stored = await work.tenants.get(SITE)
    assert stored is not None
    assert stored.shared_secret == secret


async def test_a_secret_copied_to_another_tenant_does_not_decrypt(
    database: PostgresDatabase, database_url: str, keys: KeyRing
) -> None:
    await install(database.unit_of_work, tenant(SITE), tenant(OTHER_SITE, secret="other"))
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(
            "UPDATE tenants SET shared_secret = "
            "(SELECT shared_secret FROM tenants WHERE tenant_key = $1) WHERE tenant_key = $2",
            SITE.value,
            OTHER_SITE.value,
        )
    finally:
        await admin.close()
    async with database.unit_of_work() as work:
        with pytest.raises(UndecryptableSecret):
            await work.tenants.get(OTHER_SITE)


async def test_notifications_carry_ids_and_version_only(
    database: PostgresDatabase, database_url: str
) -> None:
    await install(database.unit_of_work)
    payloads: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database_url)
    try:
        await listener.add_listener(CHANNEL, lambda *args: payloads.put_nowait(args[3]))
        rooms = _service(database)
        opened = await rooms.open(SITE, OWNER, ISSUE, RoomConfig())
        await rooms.join(SITE, GUEST, opened.id, Role.VOTER)
        await rooms.vote(SITE, GUEST, opened.id, "8")
        await rooms.remove(SITE, OWNER, opened.id)
        received = [json.loads(await asyncio.wait_for(payloads.get(), 5)) for _ in range(4)]
    finally:
        await listener.close()
    assert [sorted(p) for p in received] == [["r", "t", "v"]] * 4
    assert [p["v"] for p in received] == [1, 2, 3, 4]
    assert {(p["t"], p["r"]) for p in received} == {(SITE.value, opened.id.value)}
