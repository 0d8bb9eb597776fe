"""Verifying the HS256 JWTs Jira signs with a tenant's shared secret.

Three classes of route accept them, and each accepts one form of `qsh` only
(connect.md §4.4, reliability.md §2 J9-J10):

- `PAGE`: pages Jira opens (iframe URLs). The token is bound to the URL: its `qsh` must be
  the hash of this very request, and a context token (`qsh: "context-qsh"`) is refused.
- `API`: the app's own API, called by the browser with `AP.context.getToken()`. Only a
  context token is accepted: `qsh` must be the literal `context-qsh`.
- `LIFECYCLE`: Jira's server-to-server callbacks that must be heard whatever the tenant's
  state (`enabled`, `disabled`, the residency-migration hooks): bound to the request
  like `PAGE`, but a disabled tenant is not refused.

Order of checks: the token is read as hostile input; only `iss` is taken from it before
the signature is verified, to find the tenant's secret; then the signature (HS256 alone),
the times with 30 s leeway, the `qsh`, and last whether the tenant may be served - after
the signature, so that an unauthenticated caller learns nothing about a tenant's state.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from attrs import field, frozen

from agiletoolbox.adapters.connect.errors import AuthFailure, ConnectAuthError
from agiletoolbox.adapters.connect.qsh import CONTEXT_QSH, accepted_hashes, base_path
from agiletoolbox.adapters.connect.tokens import (
    LEEWAY,
    ConnectCaller,
    ConnectRequest,
    account_of,
    check_times,
    context_of,
    extract_token,
    read_token,
    require_algorithm,
    string_claim,
    verify_signature,
)

ALGORITHM = "HS256"
"""The only algorithm of tokens signed with a shared secret (never HS384/512, never RS*)."""


class TenantSecrets(Protocol):
    """Where the verifier finds a tenant's shared secret and whether it may be served."""

    async def secret_for(self, client_key: str) -> str | None:
        """The shared secret of the tenant `client_key`; None when it is unknown."""
        ...

    async def is_accessible(self, client_key: str) -> bool:
        """Whether the tenant may be served now (installed or enabled; not disabled)."""
        ...


class RouteClass(Enum):
    """Which tokens a route accepts; see the module docstring."""

    PAGE = "page"
    API = "api"
    LIFECYCLE = "lifecycle"


def _base_paths(base_urls: Iterable[str]) -> tuple[str, ...]:
    paths = tuple(dict.fromkeys(base_path(url) for url in base_urls))
    if not paths:
        raise ValueError("at least one base URL is needed")
    return paths


@frozen
class ConnectJwtVerifier:
    """Authenticates requests that carry a Connect JWT signed with a tenant's secret.

    `base_urls` are the URLs Jira reaches this deployment at (its own base URL, and the
    regional one if they differ); the `qsh` path is taken relative to any of them.
    """

    tenants: TenantSecrets
    base_paths: tuple[str, ...] = field(converter=_base_paths, alias="base_urls")
    leeway: timedelta = LEEWAY

    async def verify(
        self, request: ConnectRequest, route: RouteClass, *, now: datetime
    ) -> ConnectCaller:
        """The caller of `request` on a route of class `route`; `ConnectAuthError` if none."""
        token = read_token(extract_token(request))
        # Checked before the lookup: a token that cannot be HS256 costs no database call.
        require_algorithm(token, ALGORITHM)
        client_key = token.issuer()
        secret = await self.tenants.secret_for(client_key.value)
        if secret is None:
            raise ConnectAuthError(AuthFailure.UNKNOWN_ISSUER)
        # From here on, claims come from the verified payload only.
        claims = verify_signature(token, secret, ALGORITHM)
        expires_at = check_times(claims, now, self.leeway)
        self._check_qsh(string_claim(claims, "qsh"), request, route)
        caller = ConnectCaller(
            client_key=client_key,
            account_id=account_of(claims),
            expires_at=expires_at,
            context=context_of(claims),
        )
        if route is not RouteClass.LIFECYCLE and not await self.tenants.is_accessible(
            client_key.value
        ):
            raise ConnectAuthError(AuthFailure.TENANT_INACCESSIBLE)
        return caller

    def _check_qsh(self, qsh: str, request: ConnectRequest, route: RouteClass) -> None:
        if route is RouteClass.API:
            if qsh != CONTEXT_QSH:
                raise ConnectAuthError(AuthFailure.CONTEXT_TOKEN_REQUIRED)
            return
        if qsh == CONTEXT_QSH:
            raise ConnectAuthError(AuthFailure.CONTEXT_TOKEN_REFUSED)
        if not request_matches(qsh, request, self.base_paths):
            raise ConnectAuthError(AuthFailure.QSH_MISMATCH)


def request_matches(qsh: str, request: ConnectRequest, bases: Iterable[str]) -> bool:
    """Whether `qsh` is a hash of `request` (see `qsh.accepted_hashes`)."""
    accepted = accepted_hashes(
        request.method, request.path, request.query, bases=bases, form=request.form
    )
    candidate = qsh.encode("utf-8", "replace")
    return any(hmac.compare_digest(candidate, each.encode()) for each in accepted)
