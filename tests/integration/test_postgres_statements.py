"""What a vote asks of PostgreSQL: one read (the tenant's check included) and one write."""

from __future__ import annotations

from typing import Any

import pytest

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.memory import MemoryEventBus, MemoryJira
from agiletoolbox.adapters.postgres import PostgresDatabase
from agiletoolbox.adapters.postgres.session import Session
from agiletoolbox.domain.errors import AccessRefused, NotFound
from agiletoolbox.domain.ids import RoomId
from agiletoolbox.services.rooms import RoomService
from tests.contract.kit import ANA, SITE, add, room, tenant

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
