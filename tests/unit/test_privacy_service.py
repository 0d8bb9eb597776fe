"""Purging on schedule and erasing an account, on the in-memory adapters."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from agiletoolbox.adapters.memory import ManualClock, MemoryEventBus, MemoryJira, MemoryStore
from agiletoolbox.adapters.memory.store import MemoryRoomRepository, RoomKey
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.ids import IssueKey, IssueTypeId, TenantKey
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.session import RefinementSession
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from agiletoolbox.services.privacy import PrivacyService, PurgeReport
from agiletoolbox.services.rooms import RoomService
from tests.unit.roomkit import ANA, BEN, T0, TENANT


class World:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.clock = ManualClock(T0)
        self.bus = MemoryEventBus()
        self.install(TENANT, "acme")
        self.rooms = RoomService(
            self.store.unit_of_work, self.bus, self.clock, MemoryJira(all_issues_exist=True)
        )
        self.privacy = PrivacyService(
            self.store.unit_of_work, self.bus, self.clock, RetentionPolicy()
        )

    def install(self, key: TenantKey, site: str) -> None:
        self.store.tenants[key] = Tenant.install(
            key=key,
            base_url=f"https://{site}.atlassian.net",
            shared_secret="x" * 32,
            product_type=ProductType.JIRA,
            region=Region.US,
            now=T0,
        )


async def test_idle_rooms_go_after_the_window_unless_persistent() -> None:
    world = World()
    await world.rooms.open(TENANT, ANA, IssueKey("DEMO-1"), RoomConfig())
    await world.rooms.open(TENANT, ANA, IssueKey("DEMO-2"), RoomConfig(persistent=True))
    world.clock.advance(timedelta(days=89))
    assert await world.privacy.purge() == PurgeReport(0, 0, 0)
    world.clock.advance(timedelta(days=2))
    assert await world.privacy.purge(dry_run=True) == PurgeReport(0, 1, 0)
    assert len(world.store.rooms) == 2, "a dry run removes nothing"
    assert await world.privacy.purge() == PurgeReport(0, 1, 0)
    assert [room.issue_key for room in world.store.rooms.values()] == [IssueKey("DEMO-2")]


async def test_uninstalled_tenants_go_whole_after_the_window() -> None:
    world = World()
    await world.rooms.open(TENANT, ANA, IssueKey("DEMO-1"), RoomConfig(persistent=True))
    world.store.tenants[TENANT].uninstall(world.clock.now())
    as_of = T0 + timedelta(days=31)
    assert await world.privacy.purge(as_of) == PurgeReport(1, 0, 0)
    assert world.store.tenants == {}
    assert world.store.rooms == {}


async def test_error_reports_expire() -> None:
    world = World()
    world.store.error_reports.append(
        ErrorReport.capture(where="trace", message="boom", code="E1", now=T0)
    )
    assert await world.privacy.purge(T0 + timedelta(days=29)) == PurgeReport(0, 0, 0)
    assert await world.privacy.purge(T0 + timedelta(days=31)) == PurgeReport(0, 0, 1)
    assert world.store.error_reports == []


async def test_erasing_an_account_removes_every_trace() -> None:
    world = World()
    view = await world.rooms.open(
        TENANT, ANA, IssueKey("DEMO-1"), RoomConfig(), save_default_for=IssueTypeId("10001")
    )
    await world.rooms.join(TENANT, BEN, view.id, Role.VOTER)
    await world.rooms.vote(TENANT, ANA, view.id, "5")
    await world.rooms.vote(TENANT, BEN, view.id, "3")
    await world.rooms.reveal(TENANT, ANA, view.id)
    await world.rooms.reset(TENANT, ANA, view.id)
    assert await world.privacy.erase_account(ANA) == 1
    room = next(iter(world.store.rooms.values()))
    assert room.owner == BEN
    assert ANA not in room.participants
    assert all(who != ANA for record in room.history for who, _ in record.votes)
    assert world.store.defaults == {}
    assert ANA.value not in repr(world.store.rooms)
    assert await world.privacy.erase_account(ANA) == 0


async def test_exporting_an_account_shows_what_is_stored_and_nothing_after_erasure() -> None:
    world = World()
    view = await world.rooms.open(
        TENANT, ANA, IssueKey("DEMO-1"), RoomConfig(), save_default_for=IssueTypeId("10001")
    )
    await world.rooms.join(TENANT, BEN, view.id, Role.VOTER)
    await world.rooms.vote(TENANT, BEN, view.id, "3")
    session = await open_session(world)
    rooms, defaults, sessions = await world.privacy.export_account(ANA)
    assert [s.id for s in sessions] == [session.id]
    assert [trace.issue_key for trace in rooms] == [IssueKey("DEMO-1")]
    assert rooms[0].owner
    assert [saved.key.account_id for saved in defaults] == [ANA]
    bens, _, _ = await world.privacy.export_account(BEN)
    assert bens[0].vote == "3"
    await world.privacy.erase_account(ANA)
    assert await world.privacy.export_account(ANA) == ([], [], [])


async def open_session(world: World) -> RefinementSession:
    from agiletoolbox.domain.ids import ProjectKey, SessionId
    from agiletoolbox.domain.session import SessionMode

    session = RefinementSession.open(
        TENANT, SessionId.generate(), ProjectKey("DEMO"), ANA, RoomConfig(), SessionMode.LIVE,
        [IssueKey("DEMO-1"), IssueKey("DEMO-2")], T0,
    )  # fmt: skip
    async with world.store.unit_of_work() as work:
        await work.sessions.add(session)
        await work.commit()
    return session


async def test_erasing_an_account_forgets_it_as_a_sessions_owner() -> None:
    world = World()
    session = await open_session(world)
    async with world.store.unit_of_work() as work:
        assert ANA in [account for account, _ in await work.rooms.accounts(TENANT)]
    assert await world.privacy.erase_account(ANA) == 1
    kept = world.store.sessions[(TENANT, session.id)]
    assert kept.owner is None
    assert [e.issue_key for e in kept.queue] == [IssueKey("DEMO-1"), IssueKey("DEMO-2")]
    assert ANA.value not in repr(world.store.sessions)
    async with world.store.unit_of_work() as work:
        assert await work.rooms.accounts(TENANT) == []


async def test_only_one_process_purges_at_a_time() -> None:
    from agiletoolbox.adapters.memory.jobs import MemoryJobLock

    world = World()
    lock = MemoryJobLock()
    async with lock.exclusive("purge") as first:
        assert first
        assert await world.privacy.purge_if_first(lock) is None, "another holds the purge"
    assert await world.privacy.purge_if_first(lock) == PurgeReport(0, 0, 0)


async def test_serve_purges_daily() -> None:
    import asyncio

    from agiletoolbox.adapters.memory.jobs import MemoryJobLock
    from agiletoolbox.server import purge_daily

    world = World()
    world.store.error_reports.append(
        ErrorReport.capture(where="trace", message="old", code="E1", now=T0)
    )
    world.clock.advance(timedelta(days=31))
    job = asyncio.create_task(
        purge_daily(world.privacy, MemoryJobLock(), first_after=0, every=0.01)
    )
    for _ in range(100):
        if not world.store.error_reports:
            break
        await asyncio.sleep(0.01)
    job.cancel()
    assert world.store.error_reports == []


async def test_a_failing_daily_purge_is_stored_as_a_scrubbed_error_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    from agiletoolbox.adapters.memory.jobs import MemoryJobLock
    from agiletoolbox.server import purge_daily
    from agiletoolbox.services.errors import ErrorReportService

    world = World()
    errors = ErrorReportService(world.store.unit_of_work, world.clock)

    class Broken(PrivacyService):
        async def purge_if_first(self, lock: object, as_of: object = None) -> None:  # type: ignore[override]
            raise RuntimeError("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl in the way")

    broken = Broken(world.store.unit_of_work, world.bus, world.clock, RetentionPolicy())
    job = asyncio.create_task(
        purge_daily(broken, MemoryJobLock(), errors=errors, first_after=0, every=9)
    )
    for _ in range(100):
        if world.store.error_reports:
            break
        await asyncio.sleep(0.01)
    job.cancel()
    [report] = world.store.error_reports
    assert report.code == "job_failed"
    assert "the daily purge failed: builtins.RuntimeError" in report.message
    assert "eyJhbGciOiJIUzI1NiJ9" not in report.message + report.where
    assert "purge_if_first" in report.where
    assert report.id in caplog.text
    assert "Traceback" not in caplog.text


async def test_a_long_purge_goes_in_batches_and_reports_progress() -> None:
    world = World()
    for n in range(5):
        await world.rooms.open(TENANT, ANA, IssueKey(f"DEMO-{n + 1}"), RoomConfig())
    seen: list[PurgeReport] = []
    report = await world.privacy.purge(T0 + timedelta(days=91), progress=seen.append, batch=2)
    assert report == PurgeReport(0, 5, 0)
    assert [each.rooms for each in seen] == [2, 4, 5]


async def test_a_room_used_after_the_purge_read_its_list_is_kept() -> None:
    world = World()
    used = await world.rooms.open(TENANT, ANA, IssueKey("DEMO-1"), RoomConfig())
    idle = await world.rooms.open(TENANT, ANA, IssueKey("DEMO-2"), RoomConfig())
    world.clock.advance(timedelta(days=91))
    listed = [(TENANT, used.id), (TENANT, idle.id)]  # what the purge read first
    await world.rooms.vote(TENANT, ANA, used.id, "5")  # meanwhile, somebody votes

    removed = await world.privacy._purge_rooms(listed, world.clock.now() - timedelta(days=90))

    assert removed == 1
    assert {key[1] for key in world.store.rooms} == {used.id}


async def test_a_room_used_between_the_purges_check_and_its_commit_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World()
    used = await world.rooms.open(TENANT, ANA, IssueKey("DEMO-1"), RoomConfig())
    idle = await world.rooms.open(TENANT, ANA, IssueKey("DEMO-2"), RoomConfig())
    world.clock.advance(timedelta(days=91))
    listed = MemoryRoomRepository.idle_before
    raced: list[bool] = []

    async def idle_before(self: MemoryRoomRepository, cutoff: datetime) -> Sequence[RoomKey]:
        found = await listed(self, cutoff)
        if not raced:  # the first check only: somebody votes right after it
            raced.append(True)
            await world.rooms.vote(TENANT, ANA, used.id, "5")
        return found

    monkeypatch.setattr(MemoryRoomRepository, "idle_before", idle_before)
    removed = await world.privacy._purge_rooms(
        [(TENANT, used.id), (TENANT, idle.id)], world.clock.now() - timedelta(days=90)
    )

    assert raced
    assert removed == 1
    assert {key[1] for key in world.store.rooms} == {used.id}
    assert world.store.rooms[(TENANT, used.id)].votes == {ANA: "5"}


async def test_a_site_moving_to_another_region_keeps_its_rooms_for_the_region_that_serves_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agiletoolbox.services.privacy")
    world = World()
    other = TenantKey("tenant-two")
    world.install(other, "beta")
    moving = await world.rooms.open(TENANT, ANA, IssueKey("DEMO-1"), RoomConfig())
    staying = await world.rooms.open(other, ANA, IssueKey("DEMO-1"), RoomConfig())
    world.store.tenants[TENANT].begin_move(Region.EU, T0)
    # The move's copy takes no writes: that room is left, the other erased, no error.
    assert await world.privacy.erase_account(ANA) == 1
    assert ANA in world.store.rooms[(TENANT, moving.id)].participants
    assert ANA not in world.store.rooms[(other, staying.id)].participants
    assert "after its region move" in caplog.text
    # The move rolled back: this region serves the site and erases it next time.
    world.store.tenants[TENANT].cancel_move(T0)
    assert await world.privacy.erase_account(ANA) == 1
    assert ANA not in world.store.rooms[(TENANT, moving.id)].participants


async def test_idle_sessions_go_after_the_window_unless_persistent() -> None:
    from agiletoolbox.domain.ids import ProjectKey, SessionId
    from agiletoolbox.domain.session import SessionMode

    world = World()
    idle = await open_session(world)
    kept = RefinementSession.open(
        TENANT, SessionId.generate(), ProjectKey("DEMO"), ANA, RoomConfig(persistent=True),
        SessionMode.LIVE, [IssueKey("DEMO-3")], T0,
    )  # fmt: skip
    async with world.store.unit_of_work() as work:
        await work.sessions.add(kept)
        await work.commit()
    world.clock.advance(timedelta(days=89))
    assert (await world.privacy.purge()).sessions == 0
    world.clock.advance(timedelta(days=2))
    assert (await world.privacy.purge(dry_run=True)).sessions == 1
    assert len(world.store.sessions) == 2, "a dry run removes nothing"
    assert (await world.privacy.purge()).sessions == 1
    assert list(world.store.sessions) == [(TENANT, kept.id)]
    assert (TENANT, idle.id) not in world.store.sessions


async def test_a_session_used_after_the_purge_read_its_list_is_kept() -> None:
    world = World()
    session = await open_session(world)
    world.clock.advance(timedelta(days=91))
    cutoff = world.clock.now() - timedelta(days=90)
    async with world.store.unit_of_work() as work:
        listed = await work.sessions.idle_before(cutoff)
        used = await work.sessions.get(TENANT, session.id)
        used.next(ANA, world.clock.now())
        await work.sessions.save(used)
        await work.commit()
    assert listed == [(TENANT, session.id)]
    assert await world.privacy._purge_sessions(listed, cutoff) == 0
    assert (TENANT, session.id) in world.store.sessions
