"""Verifying Jira's lifecycle callbacks: signed installs (RS256) and shared-secret ones.

`installed` and `uninstalled` carry an RS256 JWT signed by Atlassian (connect.md §3,
apiMigrations `signed-install`). The steps, each refused with its own reason:

1. the token (`Authorization: JWT …` or `?jwt=`) is read as hostile input;
2. `alg` must be RS256 - anything else is refused before any key is fetched - and `kid`
   must match the strict key-id pattern before it is put in a URL;
3. the public key is fetched from the install-keys server by `kid` (cached by kid);
4. the signature is verified with that key, RS256 alone;
5. `iss` must equal the body's `clientKey`;
6. `aud[0]`, one trailing `/` aside, must be the app's base URL or a regional one;
7. `exp` and `iat` are required, 30 s leeway;
8. `qsh` must be the hash of this request (path relative to the base URL).

Only then may the body be trusted and stored. `enabled` and `disabled` are signed with
the tenant's shared secret like any other Jira request, bound to the request by `qsh`;
they are verified whatever the tenant's state (a disabled tenant must hear `enabled`).
The route checks `eventType` against itself and hands the body's `clientKey` in here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from attrs import field, frozen

from agiletoolbox.adapters.connect.errors import AuthFailure, ConnectAuthError
from agiletoolbox.adapters.connect.install_keys import (
    InstallKeyNotFound,
    InstallKeyUnavailable,
    load_rsa_public_key,
    valid_key_id,
)
from agiletoolbox.adapters.connect.jwt import (
    ConnectJwtVerifier,
    RouteClass,
    TenantSecrets,
    request_matches,
)
from agiletoolbox.adapters.connect.qsh import CONTEXT_QSH, base_path
from agiletoolbox.adapters.connect.tokens import (
    LEEWAY,
    ConnectCaller,
    ConnectRequest,
    account_of,
    check_times,
    extract_token,
    read_token,
    require_algorithm,
    string_claim,
    tenant_key,
    verify_signature,
)
from agiletoolbox.ports.jira import InstallKeyProvider

SIGNED_INSTALL_ALGORITHM = "RS256"


def _audience(url: str) -> str:
    # ACE compares with one trailing "/" stripped on both sides.
    return url.removesuffix("/")


def _urls(urls: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(urls))


@frozen
class LifecycleVerifier:
    """Verifies the tokens of `installed`, `uninstalled`, `enabled` and `disabled` calls.

    `app_base_url` is the descriptor's `baseUrl`; `region_base_urls` the values of its
    `regionBaseUrls`. A signed install may be addressed (`aud`) to any of them.
    """

    keys: InstallKeyProvider
    tenants: TenantSecrets
    app_base_url: str
    region_base_urls: tuple[str, ...] = field(default=(), converter=_urls)
    leeway: timedelta = LEEWAY

    @property
    def base_urls(self) -> tuple[str, ...]:
        """Every base URL a lifecycle call may be addressed to."""
        return _urls((self.app_base_url, *self.region_base_urls))

    async def verify_signed(
        self, request: ConnectRequest, *, client_key: str, now: datetime
    ) -> ConnectCaller:
        """Authenticate an `installed` or `uninstalled` call whose body names `client_key`."""
        token = read_token(extract_token(request))
        require_algorithm(token, SIGNED_INSTALL_ALGORITHM)
        kid = token.key_id
        if kid is None or not valid_key_id(kid):
            raise ConnectAuthError(AuthFailure.INVALID_KEY_ID)
        try:
            pem = await self.keys.public_key(kid)
            public_key = load_rsa_public_key(pem)
        except InstallKeyNotFound:
            raise ConnectAuthError(AuthFailure.UNKNOWN_KEY) from None
        except (InstallKeyUnavailable, ValueError):
            raise ConnectAuthError(AuthFailure.KEY_UNAVAILABLE) from None
        claims = verify_signature(token, public_key, SIGNED_INSTALL_ALGORITHM)
        issuer = tenant_key(claims)
        if issuer.value != client_key:
            raise ConnectAuthError(AuthFailure.CLIENT_KEY_MISMATCH)
        self._check_audience(claims.get("aud"))
        expires_at = check_times(claims, now, self.leeway)
        qsh = string_claim(claims, "qsh")
        if qsh == CONTEXT_QSH:
            raise ConnectAuthError(AuthFailure.CONTEXT_TOKEN_REFUSED)
        if not request_matches(qsh, request, (base_path(url) for url in self.base_urls)):
            raise ConnectAuthError(AuthFailure.QSH_MISMATCH)
        return ConnectCaller(
            client_key=issuer, account_id=account_of(claims), expires_at=expires_at
        )

    def _check_audience(self, audience: object) -> None:
        if audience is None:
            raise ConnectAuthError(AuthFailure.MISSING_CLAIM)
        if isinstance(audience, list):
            audience = audience[0] if audience else None
        accepted = {_audience(url) for url in self.base_urls}
        if not isinstance(audience, str) or _audience(audience) not in accepted:
            raise ConnectAuthError(AuthFailure.WRONG_AUDIENCE)

    async def verify_shared_secret(
        self, request: ConnectRequest, *, client_key: str, now: datetime
    ) -> ConnectCaller:
        """Authenticate an `enabled` or `disabled` call whose body names `client_key`."""
        verifier = ConnectJwtVerifier(self.tenants, base_urls=self.base_urls, leeway=self.leeway)
        caller = await verifier.verify(request, RouteClass.LIFECYCLE, now=now)
        if caller.client_key.value != client_key:
            raise ConnectAuthError(AuthFailure.CLIENT_KEY_MISMATCH)
        return caller
