"""Builders shared by the contract tests: tenants, rooms, people, moments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from agiletoolbox.ports import UnitOfWorkFactory

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SITE = TenantKey("jira:site/one")
OTHER_SITE = TenantKey("jira:site/two")
ANA = AccountId("557058:ana")
BEN = AccountId("557058:ben")
CAI = AccountId("557058:cai")
DEMO_1 = IssueKey("DEMO-1")
DEMO_2 = IssueKey("DEMO-2")


def at(seconds: float) -> datetime:
    """A moment `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


SITE_SECRET = "shared-secret-of-the-site"


def tenant(key: TenantKey = SITE, secret: str = SITE_SECRET) -> Tenant:
    """An installed tenant."""
    host = key.value.replace(":", "-").replace("/", "-").replace("_", "-").replace(".", "-")
    return Tenant.install(
        key=key,
        base_url=f"https://{host}.atlassian.net",
        shared_secret=secret,
        product_type=ProductType.JIRA,
        region=Region.US,
        now=T0,
    )


def room(
    issue: IssueKey = DEMO_1, site: TenantKey = SITE, config: RoomConfig | None = None
) -> Room:
    """A room Ana opened, Ben joined; events drained."""
    opened = Room.open(site, RoomId.generate(), issue, ANA, config or RoomConfig(), T0)
    opened.join(BEN, Role.VOTER, at(1))
    opened.drain_events()
    return opened


async def install(uow: UnitOfWorkFactory, *tenants: Tenant) -> None:
    """Store tenants (rooms need their tenant)."""
    async with uow() as work:
        for each in tenants or (tenant(),):
            await work.tenants.save(each)
        await work.commit()


async def update(uow: UnitOfWorkFactory, changed: Tenant) -> None:
    """Store a changed tenant the way the services do: read it, then save it."""
    async with uow() as work:
        await work.tenants.get(changed.key)
        await work.tenants.save(changed)
        await work.commit()


async def add(uow: UnitOfWorkFactory, *rooms: Room) -> None:
    """Store new rooms in one unit of work."""
    async with uow() as work:
        for each in rooms:
            await work.rooms.add(each)
        await work.commit()


async def load(uow: UnitOfWorkFactory, site: TenantKey, issue: IssueKey) -> Room | None:
    """The stored room of an issue, read in a unit of work of its own."""
    async with uow() as work:
        return await work.rooms.find_by_issue(site, issue)
