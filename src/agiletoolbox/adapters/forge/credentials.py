"""The OAuth tokens Forge sends beside the invocation token, and which one a Jira call uses.

`x-forge-oauth-system` is the app's token, `x-forge-oauth-user` the token of the person
in session (UI calls only). Both are treated as opaque except for their `exp`, which
the docs say to read (forge-remote.md §2.3): it is read without verification, as a hint
of how long to keep the token - a wrong hint costs one refused call, never access. The
tokens never reach a log line, an error report or a response.

A Jira call for a tenant with a Forge installation goes to the invocation's
`app.apiBaseUrl` with `Authorization: Bearer`: the user's token for a write made on that
person's behalf (it travels with their request, as an argument), else the kept system
token. A
tenant that Forge alone installed has no other way in; a Connect tenant falls back to
its signed Connect calls.
"""

from __future__ import annotations

import binascii
import json
from base64 import urlsafe_b64decode
from datetime import UTC, datetime, timedelta

from attrs import field, frozen

from agiletoolbox.domain.errors import JiraUnavailable
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports.forge import UserToken
from agiletoolbox.services.forge import USABLE_MARGIN, OfferedToken, SystemTokens

SYSTEM_TOKEN_HEADER = "x-forge-oauth-system"  # noqa: S105 - a header name, not a secret
USER_TOKEN_HEADER = "x-forge-oauth-user"  # noqa: S105 - a header name, not a secret
ASSUMED_LIFETIME = timedelta(minutes=55)
"""How long a token without a readable `exp` is kept (the least Forge ever promised)."""
LONGEST_LIFETIME = timedelta(hours=4)
"""Forge's tokens live at most four hours; a longer `exp` is not believed."""
MAX_TOKEN_LENGTH = 16 * 1024


@frozen
class Bearer:
    """Where to call Jira and the token to call it with."""

    api_base_url: str
    token: str = field(repr=False)


def token_expiry(token: str, now: datetime) -> datetime:
    """When `token` expires by its own `exp` (unverified, bounded), or a cautious guess."""
    longest = now + LONGEST_LIFETIME
    parts = token.split(".")
    try:
        payload = parts[1] if len(parts) == 3 else ""
        claims = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expires = claims["exp"] if isinstance(claims, dict) else None
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            return now + ASSUMED_LIFETIME
        return min(datetime.fromtimestamp(expires, UTC), longest)
    except (binascii.Error, ValueError, KeyError, OverflowError, OSError, RecursionError):
        return now + ASSUMED_LIFETIME


def offered_token(header: str | None, api_base_url: str, now: datetime) -> OfferedToken | None:
    """The token of an `x-forge-oauth-*` header value, or None when absent or absurd."""
    token = (header or "").strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii() or " " in token:
        return None
    return OfferedToken(api_base_url, token, token_expiry(token, now))


@frozen
class ForgeCredentials:
    """Chooses the bearer token of a Jira call (see the module docstring)."""

    tokens: SystemTokens

    async def bearer_for(
        self, tenant: Tenant, *, user_token: UserToken | None, now: datetime
    ) -> Bearer | None:
        """The bearer of a call for `tenant`; None to call it the Connect way. A call made
        on a person's behalf passes their `user_token`, used while it is good.

        `JiraUnavailable` for a Forge-only tenant whose kept token has run out.
        """
        if tenant.installation_id is None:
            return None
        if user_token is not None and user_token.usable(tenant.installation_id, now, USABLE_MARGIN):
            return Bearer(user_token.api_base_url, user_token.token)
        kept = await self.tokens.current(tenant.key)
        if kept is not None and kept.installation_id == tenant.installation_id:
            return Bearer(kept.api_base_url, kept.token)
        if tenant.key.value == tenant.installation_id:
            raise JiraUnavailable(
                "the app holds no current Forge token for this site; Forge sends one "
                "with its next call - try again in a moment"
            )
        return None
