"""Region migration: the hooks Atlassian calls at the source, and the transfer's receiving
end at the target.

At the source (`RegionMigrations`): `schedule` records the plan; `start` stops serving the
site and copies its whole data set to the target region's deployment, which stores it
beside its own tenants without serving it; `status` says whether the copy is complete;
`commit` makes the target's copy the tenant and then deletes everything of it here;
`rollback` has the target discard its copy and serves the site here again. Each step may
be repeated (Atlassian retries) and repeats change nothing.

At the target (`RegionArrivals`): the same three steps as seen from the other side.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from agiletoolbox.domain.errors import DomainError, InvalidState, NotFound
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.residency import (
    Arrival,
    Migration,
    MigrationErrorCode,
    MigrationRefused,
    MigrationState,
    StatusAnswer,
    parse_migration_id,
    require_capacity,
)
from agiletoolbox.domain.tenant import Region, Tenant
from agiletoolbox.ports import Clock, UnitOfWork, UnitOfWorkFactory
from agiletoolbox.ports.residency import RegionPeer, TenantArchive, TenantBundle
from agiletoolbox.services.retry import retrying

log = logging.getLogger(__name__)

STALL = timedelta(minutes=10)
"""A copy still in progress this long after its last step has died with its process."""


async def _tenant(uow: UnitOfWork, key: TenantKey) -> Tenant:
    tenant = await uow.tenants.get(key)
    if tenant is None:
        raise MigrationRefused(MigrationErrorCode.GENERIC, "this site is not served here")
    return tenant


async def _migration(uow: UnitOfWork, key: TenantKey, migration_id: str | int) -> Migration:
    migration = await uow.migrations.get(key)
    if migration is None:
        raise MigrationRefused(MigrationErrorCode.NOT_SCHEDULED)
    migration.require_id(migration_id)
    return migration


class RegionMigrations:
    """The source side: the hooks of one deployment's region.

    `reachable` are the regions this deployment can hand a tenant to (those with a base
    URL, when a peer key is set); empty means migration is off (E0003).
    """

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        archive: TenantArchive,
        peer: RegionPeer,
        clock: Clock,
        region: Region,
        reachable: frozenset[Region],
    ) -> None:
        self._uow = unit_of_work
        self._archive = archive
        self._peer = peer
        self._clock = clock
        self._region = region
        self._reachable = reachable - {region}

    async def schedule(
        self,
        tenant: TenantKey,
        migration_id: str | int,
        target: Region,
        start_time: datetime,
        end_time: datetime,
    ) -> StatusAnswer:
        """The schedule hook: record the plan (or its change, before the start)."""

        async def attempt() -> StatusAnswer:
            now = self._clock.now()
            async with self._uow() as uow:
                site = await _tenant(uow, tenant)
                if site.region is not self._region:
                    raise MigrationRefused(MigrationErrorCode.GENERIC, "not served here")
                current = await uow.migrations.get(tenant)
                if current is not None and current.id == parse_migration_id(migration_id):
                    current.schedule_again(
                        target=target,
                        start_time=start_time,
                        end_time=end_time,
                        now=now,
                        reachable=self._reachable,
                    )
                    migration = current
                else:
                    require_capacity(
                        await uow.migrations.active(), tenant=tenant, migration_id=migration_id
                    )
                    migration = Migration.schedule(
                        migration_id=migration_id,
                        tenant=tenant,
                        source=self._region,
                        target=target,
                        start_time=start_time,
                        end_time=end_time,
                        now=now,
                        reachable=self._reachable,
                    )
                await uow.migrations.save(migration)
                await uow.commit()
                return migration.status_answer()

        return await retrying(attempt)

    async def start(self, tenant: TenantKey, migration_id: str | int) -> bool:
        """The start hook's first half: stop serving the site. True when the copy is due
        (run `copy` next); False when it is already done or failed."""

        async def attempt() -> bool:
            now = self._clock.now()
            async with self._uow() as uow:
                migration = await _migration(uow, tenant, migration_id)
                site = await _tenant(uow, tenant)
                migration.start(now)
                if migration.state is not MigrationState.IN_PROGRESS:
                    return False
                if site.begin_move(migration.target, now):
                    await uow.tenants.save(site)
                await uow.migrations.save(migration)
                await uow.commit()
                return True

        return await retrying(attempt)

    async def copy(self, tenant: TenantKey, migration_id: str | int) -> StatusAnswer:
        """Copy the site's data to the target; the migration is ready, or failed, after."""
        async with self._uow() as uow:
            migration = await _migration(uow, tenant, migration_id)
        if migration.state is not MigrationState.IN_PROGRESS:
            return migration.status_answer()
        try:
            bundle = await self._archive.export(tenant)
            await self._peer.stage(migration.target, migration.id, bundle)
        except (DomainError, OSError) as error:
            log.warning(
                "region migration %s of %s failed to copy: %s",
                migration.id,
                tenant.value,
                type(error).__name__,
            )
            await self._discard_quietly(migration)
            return await self._settle(tenant, migration_id, ready=False)
        return await self._settle(tenant, migration_id, ready=True)

    async def _discard_quietly(self, migration: Migration) -> None:
        try:
            await self._peer.rollback(migration.target, migration.tenant, migration.id)
        except DomainError:
            log.warning(
                "region migration %s: the target could not be told to discard its copy; "
                "its purge removes it",
                migration.id,
            )

    async def _settle(
        self, tenant: TenantKey, migration_id: str | int, *, ready: bool
    ) -> StatusAnswer:
        async def attempt() -> StatusAnswer:
            now = self._clock.now()
            async with self._uow() as uow:
                migration = await _migration(uow, tenant, migration_id)
                if migration.state is MigrationState.IN_PROGRESS:
                    if ready:
                        migration.mark_ready(now)
                    else:
                        migration.fail(MigrationErrorCode.GENERIC, now)
                    await uow.migrations.save(migration)
                    await uow.commit()
                return migration.status_answer()

        return await retrying(attempt)

    async def status(self, tenant: TenantKey, migration_id: str | int) -> StatusAnswer:
        """The status hook; a copy stalled for `STALL` (its process died) has failed."""

        async def attempt() -> StatusAnswer:
            now = self._clock.now()
            async with self._uow() as uow:
                migration = await _migration(uow, tenant, migration_id)
                stalled = migration.state is MigrationState.IN_PROGRESS and (
                    now - migration.updated_at > STALL
                )
                if stalled:
                    migration.fail(MigrationErrorCode.GENERIC, now)
                    await uow.migrations.save(migration)
                    await uow.commit()
                return migration.status_answer()

        return await retrying(attempt)

    async def commit(self, tenant: TenantKey, migration_id: str | int) -> None:
        """The commit hook: the target's copy becomes the tenant, then every row of the
        tenant here is deleted. A repeat after the delete finds nothing to do."""
        async with self._uow() as uow:
            migration = await _migration(uow, tenant, migration_id)
            migration.commit(self._clock.now())
        await self._peer.commit(migration.target, tenant, migration.id)
        async with self._uow() as uow:
            await uow.tenants.delete(tenant)
            await uow.commit()
        log.info("region migration %s: the site now lives in %s", migration.id, migration.target)

    async def rollback(self, tenant: TenantKey, migration_id: str | int) -> None:
        """The rollback hook: the site is served here again, and the target discards its
        copy. A target that cannot be told keeps an unserved copy until its purge removes
        it (`ABANDONED_COPY_AFTER`); the rollback here does not wait for it."""

        async def attempt() -> Migration | None:
            now = self._clock.now()
            async with self._uow() as uow:
                current = await uow.migrations.get(tenant)
                if current is None or (
                    current.id != parse_migration_id(migration_id) and not current.active
                ):
                    return None  # never scheduled (a refused schedule): nothing to undo
                migration = await _migration(uow, tenant, migration_id)
                site = await _tenant(uow, tenant)
                changed = migration.rollback(now)
                if site.cancel_move(now):
                    await uow.tenants.save(site)
                if changed:
                    await uow.migrations.save(migration)
                await uow.commit()
                return migration

        migration = await retrying(attempt)
        if migration is not None:
            await self._discard_quietly(migration)


class RegionArrivals:
    """The target side: copies arriving from the other region's deployment."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        archive: TenantArchive,
        clock: Clock,
        region: Region,
    ) -> None:
        self._uow = unit_of_work
        self._archive = archive
        self._clock = clock
        self._region = region

    async def stage(self, migration_id: str, source: Region, bundle: TenantBundle) -> str:
        """Store the copy unserved; the digest of what was stored (equal to the bundle's)."""
        if source is self._region:
            raise InvalidState("a copy comes from another region")
        arrival = Arrival(
            tenant=bundle.tenant,
            migration_id=migration_id,
            source=source,
            digest=bundle.digest,
            staged_at=self._clock.now(),
        )
        return await self._archive.stage(bundle, arrival, self._region)

    async def commit(self, tenant: TenantKey, migration_id: str) -> None:
        """The copy becomes the tenant, served here from now on; a repeat is a no-op."""

        async def attempt() -> None:
            async with self._uow() as uow:
                arrival = await uow.arrivals.get(tenant)
                site = await uow.tenants.get(tenant)
                if arrival is None:
                    if site is not None and site.region is self._region and not site.moving_to:
                        return
                    raise NotFound("no copy of this site arrived")
                if arrival.migration_id != parse_migration_id(migration_id) or site is None:
                    raise MigrationRefused(MigrationErrorCode.NOT_SCHEDULED)
                site.arrive(self._region, self._clock.now())
                await uow.tenants.save(site)
                await uow.arrivals.delete(tenant)
                await uow.commit()

        await retrying(attempt)

    async def rollback(self, tenant: TenantKey, migration_id: str) -> None:
        """Discard the copy; a repeat (or a rollback of nothing) is a no-op."""
        async with self._uow() as uow:
            arrival = await uow.arrivals.get(tenant)
            if arrival is None:
                site = await uow.tenants.get(tenant)
                if site is not None:
                    raise InvalidState("the site is served here; its migration was committed")
                return
            if arrival.migration_id != parse_migration_id(migration_id):
                raise MigrationRefused(MigrationErrorCode.NOT_SCHEDULED)
            await uow.tenants.delete(tenant)
            await uow.commit()
