"""Tenant lifecycle use cases: installed, enabled, disabled, uninstalled.

Jira retries lifecycle calls and may deliver them late or out of order; each use case is
idempotent and order-safe because the tenant aggregate is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from attrs import field, frozen

from agiletoolbox.domain.errors import ConcurrentChange
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from agiletoolbox.ports import Clock, UnitOfWorkFactory
from agiletoolbox.services.rooms import MAX_ATTEMPTS

T = TypeVar("T")


@frozen
class Installation:
    """What an `installed` call tells about a site."""

    key: TenantKey
    base_url: str
    shared_secret: str = field(repr=False)
    product_type: ProductType = ProductType.JIRA
    installation_id: str | None = None
    cloud_id: str | None = None


async def retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` again on fresh state when it lost a race, a bounded number of times."""
    for _ in range(MAX_ATTEMPTS - 1):
        try:
            return await attempt()
        except ConcurrentChange:
            continue
    return await attempt()


class TenantService:
    """Applies lifecycle calls to the tenants of this deployment's region."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        retention: RetentionPolicy,
        region: Region,
        *,
        production: bool,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._retention = retention
        self._region = region
        self._production = production

    async def installed(self, installation: Installation, *, authenticated: bool) -> Tenant:
        """Install or re-install a site; a re-install changes the secret only if authenticated.

        A site whose data has expired since it was uninstalled is purged and starts afresh.
        """
        return await retrying(lambda: self._installed(installation, authenticated=authenticated))

    async def _installed(self, installation: Installation, *, authenticated: bool) -> Tenant:
        now = self._clock.now()
        async with self._uow() as uow:
            tenant = await uow.tenants.get(installation.key)
            if tenant is not None and tenant.expired(self._retention, now):
                await uow.tenants.delete(tenant.key)
                tenant = None
            if tenant is None:
                tenant = Tenant.install(
                    key=installation.key,
                    base_url=installation.base_url,
                    shared_secret=installation.shared_secret,
                    product_type=installation.product_type,
                    region=self._region,
                    now=now,
                    installation_id=installation.installation_id,
                    cloud_id=installation.cloud_id,
                    production=self._production,
                )
            elif not tenant.reinstall(
                base_url=installation.base_url,
                shared_secret=installation.shared_secret,
                authenticated=authenticated,
                retention=self._retention,
                now=now,
                installation_id=installation.installation_id,
                cloud_id=installation.cloud_id,
                production=self._production,
            ):
                return tenant
            await uow.tenants.save(tenant)
            await uow.commit()
        tenant.drain_events()
        return tenant

    async def enabled(self, key: TenantKey) -> bool:
        """Apply `enabled`; False when it changed nothing (a repeat, or after uninstall)."""
        return await self._apply(key, lambda tenant: tenant.enable(self._clock.now()))

    async def disabled(self, key: TenantKey) -> bool:
        """Apply `disabled`; False when it changed nothing."""
        return await self._apply(key, lambda tenant: tenant.disable(self._clock.now()))

    async def uninstalled(self, key: TenantKey) -> bool:
        """Apply `uninstalled`: access stops at once; the data is purged after retention."""
        return await self._apply(key, lambda tenant: tenant.uninstall(self._clock.now()))

    async def _apply(self, key: TenantKey, change: Callable[[Tenant], bool]) -> bool:
        # Jira sends `disabled` and `uninstalled` milliseconds apart: the loser of the race
        # re-reads the tenant, so a late `disabled` never overwrites an `uninstalled`.
        return await retrying(lambda: self._apply_once(key, change))

    async def _apply_once(self, key: TenantKey, change: Callable[[Tenant], bool]) -> bool:
        async with self._uow() as uow:
            tenant = await uow.tenants.get(key)
            if tenant is None or not change(tenant):
                return False
            await uow.tenants.save(tenant)
            await uow.commit()
        tenant.drain_events()
        return True
