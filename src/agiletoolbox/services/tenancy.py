"""Checks every use case makes about the tenant it acts for."""

from __future__ import annotations

from agiletoolbox.domain.errors import AccessRefused
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.standing import TenantStanding
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports import UnitOfWork


def require_served(standing: TenantStanding | None) -> None:
    """Return quietly when a site in this standing (None: unknown) may be served now:
    installed or enabled, and not moving; `AccessRefused` otherwise."""
    if standing is None:
        raise AccessRefused("this Jira site may not use the app")
    standing.require_accessible()


async def require_access(uow: UnitOfWork, key: TenantKey) -> None:
    """Return quietly when the tenant may be served now; `AccessRefused` otherwise.

    The check of every room use case that needs nothing else of the tenant: it reads
    neither the secret nor the site's address.
    """
    require_served(await uow.tenants.standing(key))


async def require_tenant(uow: UnitOfWork, key: TenantKey) -> Tenant:
    """The tenant, when it may be served now; `AccessRefused` otherwise."""
    tenant = await uow.tenants.get(key)
    if tenant is None:
        raise AccessRefused("this Jira site may not use the app")
    tenant.require_accessible()
    return tenant
