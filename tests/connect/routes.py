"""One harness per class of Connect route, so an attack can be tried against each.

A harness knows what a genuine request of its class looks like (method, target, where
the token goes, which claims and which key), builds the request for any token, and runs
the verifier the HTTP route will run.
"""

from __future__ import annotations

from typing import Any

import pytest
from attrs import define, field

from agiletoolbox.adapters.connect.errors import AuthFailure, ConnectAuthError
from agiletoolbox.adapters.connect.install import LifecycleVerifier
from agiletoolbox.adapters.connect.install_keys import InstallKeys, MemoryKeyFetcher
from agiletoolbox.adapters.connect.jwt import ConnectJwtVerifier, RouteClass
from agiletoolbox.adapters.connect.tokens import ConnectCaller, ConnectRequest
from tests.connect.tokenkit import (
    APP_BASE_URL,
    CLIENT_KEY,
    KID,
    NOW,
    FakeTenants,
    claims_for,
    context_claims,
    public_pem,
    rsa_key,
    sign_raw,
    sign_raw_rsa,
)

KEYS_URL = "https://keys.example.com"
REGION_BASE_URL = "https://eu.poker.example.com"
DROP = object()
"""A claim value meaning "leave this claim out"."""

PAGE, API, LIFECYCLE, INSTALL = "page", "api", "lifecycle", "install"
HS_ROUTES = (PAGE, API, LIFECYCLE)
URL_BOUND = (PAGE, LIFECYCLE, INSTALL)
ALL_ROUTES = (PAGE, API, LIFECYCLE, INSTALL)

_TARGETS = {
    PAGE: ("GET", "/room?issueKey=DEMO-7&issueId=10007&view=glance"),
    API: ("GET", "/api/rooms?issueKey=DEMO-7"),
    LIFECYCLE: ("POST", "/lifecycle/enabled"),
    INSTALL: ("POST", "/lifecycle/installed"),
}


@define
class Route:
    """A class of route with its genuine request, and a verifier to attack."""

    kind: str
    tenants: FakeTenants = field(factory=FakeTenants)
    fetcher: MemoryKeyFetcher = field(
        factory=lambda: MemoryKeyFetcher({f"{KEYS_URL}/{KID}": public_pem(rsa_key("atlassian"))})
    )

    @property
    def method(self) -> str:
        """The HTTP method of a genuine request."""
        return _TARGETS[self.kind][0]

    @property
    def target(self) -> str:
        """The request target (path and query) of a genuine request."""
        return _TARGETS[self.kind][1]

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Genuine claims for this route, with `changes` applied (`DROP` removes one)."""
        claims = context_claims() if self.kind == API else claims_for(self.method, self.target)
        if self.kind == INSTALL:
            claims["aud"] = APP_BASE_URL
        for name, value in changes.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        """Sign as Jira would for this route: RS256 for installs, HS256 otherwise.

        Signed by hand, so claims and headers PyJWT would refuse to write can be tried.
        """
        if self.kind == INSTALL:
            return sign_raw_rsa({"alg": "RS256", "typ": "JWT", "kid": KID, **headers}, claims)
        return sign_raw({"alg": "HS256", "typ": "JWT", **headers}, claims)

    def token(self, **changes: Any) -> str:
        """A genuine token, with claim `changes`."""
        return self.sign(self.claims(**changes))

    def request(self, token: str | None, target: str | None = None) -> ConnectRequest:
        """The request carrying `token` the way this route receives it."""
        target = target or self.target
        if self.kind == PAGE:
            if token is not None:
                target += ("&" if "?" in target else "?") + f"jwt={token}"
            return ConnectRequest.from_target(self.method, target)
        authorization = None if token is None else f"JWT {token}"
        return ConnectRequest.from_target(self.method, target, authorization=authorization)

    @property
    def lifecycle(self) -> LifecycleVerifier:
        """The lifecycle verifier, with the install keys served by `fetcher`."""
        return LifecycleVerifier(
            keys=InstallKeys(self.fetcher, KEYS_URL),
            tenants=self.tenants,
            app_base_url=APP_BASE_URL,
            region_base_urls=(REGION_BASE_URL,),
        )

    async def verify(
        self,
        token: str | None,
        target: str | None = None,
        *,
        client_key: str = CLIENT_KEY,
    ) -> ConnectCaller:
        """Run the verifier of this route on a request carrying `token`."""
        request = self.request(token, target)
        if self.kind == INSTALL:
            return await self.lifecycle.verify_signed(request, client_key=client_key, now=NOW)
        if self.kind == LIFECYCLE:
            return await self.lifecycle.verify_shared_secret(
                request, client_key=client_key, now=NOW
            )
        verifier = ConnectJwtVerifier(self.tenants, base_urls=[APP_BASE_URL])
        route = RouteClass.PAGE if self.kind == PAGE else RouteClass.API
        return await verifier.verify(request, route, now=NOW)


async def refused(route: Route, token: str | None, reason: AuthFailure, **kwargs: Any) -> None:
    """Assert that `route` refuses `token` for `reason`."""
    with pytest.raises(ConnectAuthError) as excinfo:
        await route.verify(token, **kwargs)
    assert excinfo.value.reason is reason
