"""The Forge system token port: the app's token for Jira, cached per installation.

Forge hands the remote a fresh system token with every lifecycle event, scheduled tick
and UI call, and offers no way to ask for one (forge-remote.md §2.3); background work
therefore uses the latest one kept here, until it expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from attrs import field, frozen
from attrs.validators import instance_of

from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.site import installation_ari
from agiletoolbox.domain.timing import utc


@frozen
class SystemToken:
    """The system token of a tenant's Forge installation, with where and until when it works.

    `api_base_url` is the `app.apiBaseUrl` of the invocation that brought the token: Jira
    is called there with `Authorization: Bearer <token>`.
    """

    tenant: TenantKey = field(validator=instance_of(TenantKey))
    installation_id: str = field(converter=installation_ari)
    api_base_url: str
    token: str = field(repr=False)
    expires_at: datetime = field(converter=utc)

    def usable(self, now: datetime, margin: timedelta) -> bool:
        """Whether it still works `margin` from `now` (a call in flight must not outlive it)."""
        return utc(now) + margin < self.expires_at


@frozen
class UserToken:
    """The token of the person whose request is being served (Forge's `x-forge-oauth-user`),
    for their installation: a write made on that person's behalf uses it.

    It travels with the request as an argument, from the Forge authenticator to the Jira
    client, and is never stored.
    """

    installation_id: str
    api_base_url: str
    token: str = field(repr=False)
    expires_at: datetime

    def usable(self, installation_id: str | None, now: datetime, margin: timedelta) -> bool:
        """Whether it may call Jira for `installation_id` and still works `margin` from now."""
        return installation_id == self.installation_id and utc(now) + margin < self.expires_at


class SystemTokenRepository(Protocol):
    """The latest system token of each tenant, encrypted at rest by the real adapter."""

    async def get(self, tenant: TenantKey) -> SystemToken | None:
        """The tenant's token, or None (also when it can no longer be decrypted)."""
        ...

    async def save(self, token: SystemToken) -> None:
        """Keep `token` unless the one kept for the same installation expires later."""
        ...

    async def delete(self, tenant: TenantKey) -> None:
        """Forget the tenant's token."""
        ...
