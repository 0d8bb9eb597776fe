"""Region migration use cases on in-memory stores: a source and a target deployment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agiletoolbox.adapters.memory import ManualClock, MemoryStore
from agiletoolbox.adapters.memory.archive import MemoryTenantArchive
from agiletoolbox.domain.errors import AccessRefused
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.residency import (
    MigrationErrorCode,
    MigrationRefused,
    MigrationState,
    TransferFailed,
)
from agiletoolbox.domain.retention import ABANDONED_COPY_AFTER, RetentionPolicy
from agiletoolbox.domain.tenant import Region, TenantState
from agiletoolbox.ports.residency import TenantBundle
from agiletoolbox.services.privacy import PrivacyService
from agiletoolbox.services.residency import STALL, RegionArrivals, RegionMigrations
from agiletoolbox.services.tenancy import require_tenant
from agiletoolbox.services.tenants import Installation, TenantService
from tests.unit.roomkit import T0

KEY = TenantKey("client-key-1")
SITE = "https://acme.atlassian.net"
SECRET = "a-shared-secret-of-enough-length-0001"


class DirectPeer:
    """The target deployment reached directly; `down` makes every call fail."""

    def __init__(self, arrivals: RegionArrivals, source: Region) -> None:
        self.arrivals = arrivals
        self.source = source
        self.down = False
        self.calls: list[str] = []

    def _check(self, op: str) -> None:
        self.calls.append(op)
        if self.down:
            raise TransferFailed("the target could not be reached")

    async def stage(self, target: Region, migration_id: str, bundle: TenantBundle) -> None:
        self._check("stage")
        digest = await self.arrivals.stage(migration_id, self.source, bundle)
        if digest != bundle.digest:
            raise TransferFailed("the target stored a different copy")

    async def commit(self, target: Region, tenant: TenantKey, migration_id: str) -> None:
        self._check("commit")
        await self.arrivals.commit(tenant, migration_id)

    async def rollback(self, target: Region, tenant: TenantKey, migration_id: str) -> None:
        self._check("rollback")
        await self.arrivals.rollback(tenant, migration_id)


class Pair:
    def __init__(self, reachable: frozenset[Region] = frozenset({Region.US})) -> None:
        self.clock = ManualClock(T0)
        self.eu, self.us = MemoryStore(), MemoryStore()
        self.arrivals = RegionArrivals(
            self.us.unit_of_work, MemoryTenantArchive(self.us), self.clock, Region.US
        )
        self.peer = DirectPeer(self.arrivals, Region.EU)
        self.migrations = RegionMigrations(
            self.eu.unit_of_work,
            MemoryTenantArchive(self.eu),
            self.peer,
            self.clock,
            Region.EU,
            reachable,
        )

    async def install(self) -> None:
        service = TenantService(
            self.eu.unit_of_work, self.clock, RetentionPolicy(), Region.EU, production=True
        )
        await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)

    async def schedule(self, migration_id: str = "57500", target: Region = Region.US) -> None:
        now = self.clock.now()
        await self.migrations.schedule(KEY, migration_id, target, now, now + timedelta(hours=1))


@pytest.fixture
async def pair() -> Pair:
    made = Pair()
    await made.install()
    return made


async def test_schedule_start_copy_commit_moves_everything(pair: Pair) -> None:
    await pair.schedule()
    assert await pair.migrations.start(KEY, 57500) is True
    assert pair.eu.tenants[KEY].moving_to is Region.US
    answer = await pair.migrations.copy(KEY, "57500")
    assert answer.status == "ready-to-commit"
    # The copy is there, unserved: it names the source region and is still moving.
    copy = pair.us.tenants[KEY]
    assert (copy.region, copy.moving_to) == (Region.EU, Region.US)
    async with pair.us.unit_of_work() as uow:
        with pytest.raises(AccessRefused):
            await require_tenant(uow, KEY)

    await pair.migrations.commit(KEY, "57500")

    assert KEY not in pair.eu.tenants
    assert KEY not in pair.eu.migrations
    arrived = pair.us.tenants[KEY]
    assert (arrived.region, arrived.moving_to, arrived.state) == (
        Region.US,
        None,
        TenantState.INSTALLED,
    )
    assert arrived.shared_secret == SECRET
    assert KEY not in pair.us.arrivals


async def test_the_site_is_not_served_while_it_moves(pair: Pair) -> None:
    await pair.schedule()
    await pair.migrations.start(KEY, "57500")
    async with pair.eu.unit_of_work() as uow:
        with pytest.raises(AccessRefused):
            await require_tenant(uow, KEY)


async def test_every_step_may_be_repeated(pair: Pair) -> None:
    await pair.schedule()
    await pair.schedule()
    await pair.migrations.start(KEY, "57500")
    # A start repeated before the copy is done runs the copy again (the first one may
    # have died with its process); once copied, a start changes nothing.
    assert await pair.migrations.start(KEY, "57500") is True
    await pair.migrations.copy(KEY, "57500")
    await pair.migrations.copy(KEY, "57500")
    assert await pair.migrations.start(KEY, "57500") is False
    assert pair.peer.calls.count("stage") == 1
    await pair.arrivals.commit(KEY, "57500")
    await pair.arrivals.commit(KEY, "57500")
    assert pair.us.tenants[KEY].region is Region.US


async def test_rollback_serves_the_site_again_and_discards_the_copy(pair: Pair) -> None:
    await pair.schedule()
    await pair.migrations.start(KEY, "57500")
    await pair.migrations.copy(KEY, "57500")
    await pair.migrations.rollback(KEY, "57500")
    await pair.migrations.rollback(KEY, "57500")
    assert pair.eu.tenants[KEY].accessible
    assert pair.eu.migrations[KEY].state is MigrationState.ROLLED_BACK
    assert KEY not in pair.us.tenants
    assert KEY not in pair.us.arrivals


async def test_a_failed_copy_fails_the_migration_and_leaves_no_copy(pair: Pair) -> None:
    await pair.schedule()
    await pair.migrations.start(KEY, "57500")
    pair.peer.down = True
    answer = await pair.migrations.copy(KEY, "57500")
    assert (answer.status, answer.error_response_code) == ("failed", "E9999")
    assert (await pair.migrations.status(KEY, "57500")).status == "failed"
    with pytest.raises(MigrationRefused):
        await pair.migrations.commit(KEY, "57500")
    assert KEY in pair.eu.tenants
    await pair.migrations.rollback(KEY, "57500")
    assert pair.eu.tenants[KEY].accessible


async def test_a_copy_that_stalls_fails(pair: Pair) -> None:
    await pair.schedule()
    await pair.migrations.start(KEY, "57500")
    assert (await pair.migrations.status(KEY, "57500")).status == "in-progress"
    pair.clock.advance(STALL + timedelta(seconds=1))
    answer = await pair.migrations.status(KEY, "57500")
    assert (answer.status, answer.error_response_code) == ("failed", "E9999")


async def test_the_error_codes(pair: Pair) -> None:
    with pytest.raises(MigrationRefused) as unscheduled:
        await pair.migrations.start(KEY, "1")
    assert unscheduled.value.error_code is MigrationErrorCode.NOT_SCHEDULED
    with pytest.raises(MigrationRefused) as same_region:
        await pair.schedule(target=Region.EU)
    assert same_region.value.error_code is MigrationErrorCode.REGION_UNSUPPORTED
    await pair.schedule("1")
    with pytest.raises(MigrationRefused) as second:
        await pair.schedule("2")
    assert second.value.error_code is MigrationErrorCode.TOO_MANY_MIGRATIONS
    with pytest.raises(MigrationRefused) as other_id:
        await pair.migrations.status(KEY, "2")
    assert other_id.value.error_code is MigrationErrorCode.NOT_SCHEDULED


async def test_without_a_reachable_region_migration_is_unsupported() -> None:
    off = Pair(reachable=frozenset())
    await off.install()
    with pytest.raises(MigrationRefused) as refused:
        await off.schedule()
    assert refused.value.error_code is MigrationErrorCode.MIGRATIONS_UNSUPPORTED
    await off.migrations.rollback(KEY, "57500")  # nothing to undo
    assert off.eu.tenants[KEY].accessible


async def test_a_copy_is_refused_where_the_site_is_served(pair: Pair) -> None:
    service = TenantService(
        pair.us.unit_of_work, pair.clock, RetentionPolicy(), Region.US, production=True
    )
    await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    await pair.schedule()
    await pair.migrations.start(KEY, "57500")
    answer = await pair.migrations.copy(KEY, "57500")
    assert answer.status == "failed"
    assert pair.us.tenants[KEY].accessible  # the target's own tenant is untouched


async def test_an_abandoned_copy_is_purged_at_the_target(pair: Pair) -> None:
    await pair.schedule()
    await pair.migrations.start(KEY, "57500")
    await pair.migrations.copy(KEY, "57500")
    privacy = PrivacyService(pair.us.unit_of_work, _NoBus(), pair.clock, RetentionPolicy())
    assert (await privacy.purge()).abandoned_copies == 0
    later = pair.clock.now() + ABANDONED_COPY_AFTER + timedelta(minutes=1)
    assert (await privacy.purge(later, dry_run=True)).abandoned_copies == 1
    assert KEY in pair.us.tenants
    assert (await privacy.purge(later)).abandoned_copies == 1
    assert KEY not in pair.us.tenants


class _NoBus:
    async def publish(self, *_args: object) -> None:
        return None
