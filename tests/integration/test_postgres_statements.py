"""What a vote asks of PostgreSQL: one read (the tenant's check included) and one write."""

from __future__ import annotations

from typing import Any

import pytest

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.memory import MemoryEventBus, MemoryJira
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.adapters.postgres.session import Session
from agiletoolbox.domain.errors import AccessRefused, NotFound
from agiletoolbox.domain.ids import IssueKey, RoomId
from agiletoolbox.services.rooms import RoomService
from tests.contract.kit import ANA, SITE, add, install, room, tenant

pytestmark = pytest.mark.postgres


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The method of every statement units of work send, in order."""
    sent: list[str] = []
    for method in ("fetch", "fetchrow", "write"):
        original = getattr(Session, method)

        def counted(
            self: Session, *args: Any, _m: str = method, _o: Any = original, **options: Any
        ) -> Any:
            sent.append(_m)
            return _o(self, *args, **options)

        monkeypatch.setattr(Session, method, counted)
    return sent


async def test_a_vote_is_one_read_and_one_write(
    database: PostgresDatabase, statements: list[str]
) -> None:
    uow = database.unit_of_work
    async with uow() as work:
        await work.tenants.save(tenant())
        await work.commit()
    opened = room()
    await add(uow, opened)
    service = RoomService(uow, MemoryEventBus(), SystemClock(), MemoryJira(all_issues_exist=True))
    statements.clear()
    await service.vote(SITE, ANA, opened.id, "5")
    assert statements == ["fetchrow", "fetch"]
    statements.clear()
    await service.get(SITE, opened.id)
    assert statements == ["fetchrow"]


async def test_a_site_that_may_not_be_served_hears_so_first(database: PostgresDatabase) -> None:
    uow = database.unit_of_work
    closed = tenant()
    opened = room()
    async with uow() as work:
        await work.tenants.save(closed)
        await work.commit()
    await add(uow, opened)
    closed.disable(SystemClock().now())
    async with uow() as work:
        await work.tenants.get(SITE)
        await work.tenants.save(closed)
        await work.commit()
    service = RoomService(uow, MemoryEventBus(), SystemClock(), MemoryJira(all_issues_exist=True))
    with pytest.raises(AccessRefused):
        await service.vote(SITE, ANA, opened.id, "5")
    with pytest.raises(AccessRefused):  # before the missing room
        await service.get(SITE, RoomId.generate())
    closed.enable(SystemClock().now())
    async with uow() as work:
        await work.tenants.get(SITE)
        await work.tenants.save(closed)
        await work.commit()
    with pytest.raises(NotFound):
        await service.get(SITE, RoomId.generate())


@pytest.mark.usefixtures("pool")  # every table emptied
async def test_every_statement_of_a_room_is_planned_once_not_at_every_run(
    database_url: str, keys: KeyRing
) -> None:
    # PostgreSQL plans a prepared statement for its first five runs, then keeps a generic
    # plan unless one planned for the values looks cheaper. A statement whose plan depends
    # on how many keys it is given (an array's length) is planned anew at every run: a
    # millisecond and more for the room query, which is what another process waits for
    # before it shows a change. One connection, so every statement is on it.
    async with open_pool(database_url, min_size=1, max_size=1) as single:
        database = PostgresDatabase(single, keys)
        uow = database.unit_of_work
        await install(uow, tenant())
        rooms = [room(IssueKey(f"PLAN-{n + 1}")) for n in range(120)]
        await add(uow, *rooms)
        async with single.acquire() as connection:
            await connection.execute("ANALYZE")  # the planner's view of a database in use
        service = RoomService(
            uow, MemoryEventBus(), SystemClock(), MemoryJira(all_issues_exist=True)
        )
        for n in range(12):
            await service.vote(SITE, ANA, rooms[0].id, "5" if n % 2 else "3")
            await service.get(SITE, rooms[1].id)
            some = rooms[: 1 + n % 4]  # as many keys as came signalled
            await service.get_many([(SITE, each.id) for each in some])
        async with single.acquire() as connection:
            prepared = await connection.fetch(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            )
    runs = {row["statement"]: (row["generic_plans"], row["custom_plans"]) for row in prepared}
    repeated = {text: plans for text, plans in runs.items() if sum(plans) >= 12}
    assert any("unnest" in text or "jsonb_to_recordset" in text for text in repeated)
    planned_each_time = [text[-120:] for text, (_, custom) in repeated.items() if custom > 5]
    assert planned_each_time == []
