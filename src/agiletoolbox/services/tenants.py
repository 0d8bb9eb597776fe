"""Tenant lifecycle use cases: installed, enabled, disabled, uninstalled.

Jira retries lifecycle calls and may deliver them late or out of order; each use case is
idempotent and order-safe because the tenant aggregate is.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from attrs import field, frozen

from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.site import installation_ari
from agiletoolbox.domain.tenant import ProductType, Region, Tenant, TenantState
from agiletoolbox.ports import Clock, UnitOfWorkFactory
from agiletoolbox.services.retry import retrying


@frozen
class Installation:
    """What an `installed` call tells about a site."""

    key: TenantKey
    base_url: str
    shared_secret: str = field(repr=False)
    product_type: ProductType = ProductType.JIRA
    installation_id: str | None = None
    cloud_id: str | None = None


@frozen
class ForgeInstallation:
    """What a verified Forge lifecycle event tells about a site.

    `base_url` is the site's URL when the invocation named it (`context.siteUrl`), else
    its API base URL; `site_url_known` says which.
    """

    installation_id: str
    base_url: str
    cloud_id: str | None = None
    site_url_known: bool = False


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

    async def forge_installed(self, forge: ForgeInstallation) -> Tenant:
        """Apply a Forge `installed` or `upgraded` event; repeats change nothing.

        The tenant is the one linked to the installation, else the one of the same site
        (cloud id: a Forge re-install gets a new installation id), which is then linked -
        so a site that moves from Connect to Forge keeps its tenant and its rooms. A site
        never seen gets a tenant keyed by the installation id.
        """
        return await retrying(lambda: self._forge_installed(forge))

    async def _forge_installed(self, forge: ForgeInstallation) -> Tenant:
        now = self._clock.now()
        link = installation_ari(forge.installation_id)
        async with self._uow() as uow:
            tenant = await uow.tenants.find_by_installation(link)
            if tenant is None and forge.cloud_id is not None:
                tenant = await uow.tenants.find_by_cloud_id(forge.cloud_id)
            if tenant is not None and tenant.expired(self._retention, now):
                await uow.tenants.delete(tenant.key)
                tenant = None
            if tenant is None:
                tenant = self._forge_tenant(forge, link, now)
            elif not self._forge_relinked(tenant, link, forge.cloud_id, now):
                return tenant
            await uow.tenants.save(tenant)
            await uow.commit()
        tenant.drain_events()
        return tenant

    def _forge_tenant(self, forge: ForgeInstallation, link: str, now: datetime) -> Tenant:
        return Tenant.install(
            key=TenantKey(link),
            base_url=forge.base_url,
            # Forge calls carry no shared secret; this one is never disclosed, so no
            # Connect token can ever verify for a tenant that only Forge installed.
            shared_secret=secrets.token_urlsafe(32),
            product_type=ProductType.JIRA,
            region=self._region,
            now=now,
            installation_id=link,
            cloud_id=forge.cloud_id,
            # The API base URL comes from a verified token, not a forgeable install.
            production=self._production and forge.site_url_known,
        )

    def _forge_relinked(
        self, tenant: Tenant, link: str, cloud_id: str | None, now: datetime
    ) -> bool:
        if tenant.state is not TenantState.UNINSTALLED:
            return tenant.link_forge(link, now, cloud_id=cloud_id)
        # Installed again inside the retention window: restored, under its stored URL.
        return tenant.reinstall(
            base_url=tenant.base_url,
            shared_secret=tenant.shared_secret,
            authenticated=True,
            retention=self._retention,
            now=now,
            installation_id=link,
            cloud_id=cloud_id,
        )

    async def forge_uninstalled(self, installation_id: str) -> Tenant | None:
        """Apply Forge's pre-uninstall: the same path as Connect's `uninstalled`.

        Returns the tenant, or None when no tenant is linked to the installation.
        """
        async with self._uow() as uow:
            tenant = await uow.tenants.find_by_installation(installation_ari(installation_id))
        if tenant is not None:
            await self.uninstalled(tenant.key)
        return tenant
