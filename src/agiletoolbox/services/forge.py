"""Forge use cases: lifecycle events, the system token each invocation brings, pre-uninstall.

Forge gives the remote no way to ask for a system token: it arrives with lifecycle
events, scheduled ticks and UI calls (forge-remote.md §2.3). Each one is kept per tenant
(the freshest wins), and background calls to Jira use the one kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from attrs import field, frozen

from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.site import installation_ari
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports import Clock, SystemToken, UnitOfWorkFactory
from agiletoolbox.services.tenants import ForgeInstallation, TenantService

USABLE_MARGIN = timedelta(minutes=2)
"""A kept token is used only while it lives this much longer (a call must not outlive it)."""


@frozen
class OfferedToken:
    """A system token as an invocation brought it: where it works and until when."""

    api_base_url: str
    token: str = field(repr=False)
    expires_at: datetime


class SystemTokens:
    """Each tenant's latest system token: kept when it is fresher, handed out while usable."""

    def __init__(self, unit_of_work: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = unit_of_work
        self._clock = clock

    async def keep(self, tenant: TenantKey, installation_id: str, offered: OfferedToken) -> None:
        """Keep `offered` as the tenant's token unless the kept one lasts as long.

        Forge repeats a token across calls for hours: a repeat costs one read, no write.
        """
        if offered.expires_at <= self._clock.now():
            return
        link = installation_ari(installation_id)
        async with self._uow() as uow:
            kept = await uow.system_tokens.get(tenant)
            if (
                kept is not None
                and kept.installation_id == link
                and kept.expires_at >= offered.expires_at
            ):
                return
            await uow.system_tokens.save(
                SystemToken(
                    tenant=tenant,
                    installation_id=link,
                    api_base_url=offered.api_base_url,
                    token=offered.token,
                    expires_at=offered.expires_at,
                )
            )
            await uow.commit()

    async def current(self, tenant: TenantKey) -> SystemToken | None:
        """The tenant's kept token while it is still usable, else None."""
        async with self._uow() as uow:
            kept = await uow.system_tokens.get(tenant)
        if kept is None or not kept.usable(self._clock.now(), USABLE_MARGIN):
            return None
        return kept

    async def forget(self, tenant: TenantKey) -> None:
        """Drop the tenant's token."""
        async with self._uow() as uow:
            await uow.system_tokens.delete(tenant)
            await uow.commit()


class ForgeService:
    """Applies Forge lifecycle events and keeps the system tokens they bring."""

    def __init__(
        self, unit_of_work: UnitOfWorkFactory, tenants: TenantService, tokens: SystemTokens
    ) -> None:
        self._uow = unit_of_work
        self._tenants = tenants
        self._tokens = tokens

    async def installed(
        self, installation: ForgeInstallation, offered: OfferedToken | None
    ) -> Tenant:
        """Create or link the site's tenant (idempotent) and keep the token it brought."""
        tenant = await self._tenants.forge_installed(installation)
        if offered is not None:
            await self._tokens.keep(tenant.key, installation.installation_id, offered)
        return tenant

    async def uninstalling(self, installation_id: str) -> bool:
        """Pre-uninstall: stop serving the site, start its retention clock, drop its token.

        False when no tenant is linked to the installation (nothing to do).
        """
        tenant = await self._tenants.forge_uninstalled(installation_id)
        if tenant is None:
            return False
        await self._tokens.forget(tenant.key)
        return True

    async def tenant_of(self, installation_id: str) -> TenantKey | None:
        """The tenant linked to an installation, whatever its state (a moving site too)."""
        async with self._uow() as uow:
            tenant = await uow.tenants.find_by_installation(installation_ari(installation_id))
        return None if tenant is None else tenant.key

    async def refreshed(self, installation_id: str, offered: OfferedToken) -> bool:
        """Keep a token a tick brought; False when no served tenant is linked."""
        async with self._uow() as uow:
            tenant = await uow.tenants.find_by_installation(installation_ari(installation_id))
        if tenant is None or not tenant.accessible:
            return False
        await self._tokens.keep(tenant.key, installation_id, offered)
        return True
