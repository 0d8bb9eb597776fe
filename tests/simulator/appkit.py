"""A tiny Connect app for tests: serves a descriptor and checks what the simulator sends.

Lifecycle callbacks are verified with the product's `LifecycleVerifier` over
`InstallKeys` and an `AiohttpKeyFetcher` pointed at the simulator's key server; the room
page with `ConnectJwtVerifier` route PAGE; `/api/whoami` with route API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from attrs import define, field

from agiletoolbox.adapters.connect.descriptor import Vendor, build_descriptor
from agiletoolbox.adapters.connect.errors import ConnectAuthError
from agiletoolbox.adapters.connect.install import LifecycleVerifier
from agiletoolbox.adapters.connect.install_keys import AiohttpKeyFetcher, InstallKeys
from agiletoolbox.adapters.connect.jwt import ConnectJwtVerifier, RouteClass
from agiletoolbox.adapters.connect.tokens import ConnectCaller, ConnectRequest

APP_KEY = "agile-toolbox-test"
REGION_PREFIX = "/eu"


def caller_json(caller: ConnectCaller) -> dict[str, Any]:
    """What the test app tells about a verified caller."""
    context = caller.context
    return {
        "clientKey": caller.client_key.value,
        "accountId": caller.account_id.value if caller.account_id else None,
        "issueKey": context.issue_key.value if context.issue_key else None,
        "issueId": context.issue_id,
        "issueTypeId": context.issuetype_id,
        "projectKey": context.project_key,
    }


@define
class ConnectApp:
    """The app side of the protocol, as the product verifies it; records every callback."""

    session: aiohttp.ClientSession
    keys_url: str
    base_url: str = ""
    regional: bool = False
    answer: int = 204
    """The status the lifecycle callbacks answer (after verification)."""
    secrets: dict[str, str] = field(factory=dict)
    uninstalled: set[str] = field(factory=set)
    events: list[tuple[str, str | None]] = field(factory=list)
    """Each callback: its event and the failure code (None when it verified)."""
    payloads: list[dict[str, Any]] = field(factory=list)
    _keys: InstallKeys | None = None

    async def secret_for(self, client_key: str) -> str | None:
        """The stored shared secret of a site."""
        return self.secrets.get(client_key)

    async def is_accessible(self, client_key: str) -> bool:
        """Whether the site may be served."""
        return client_key in self.secrets and client_key not in self.uninstalled

    @property
    def base_urls(self) -> tuple[str, ...]:
        """The base URL and, when regional, the EU one."""
        regional = (self.base_url + REGION_PREFIX,) if self.regional else ()
        return (self.base_url, *regional)

    def verifier(self) -> LifecycleVerifier:
        """The product's lifecycle verifier, keys fetched from the simulator."""
        if self._keys is None:
            self._keys = InstallKeys(AiohttpKeyFetcher(self.session), self.keys_url)
        return LifecycleVerifier(
            keys=self._keys,
            tenants=self,
            app_base_url=self.base_url,
            region_base_urls=self.base_urls[1:],
        )

    def descriptor(self) -> dict[str, Any]:
        """The product's descriptor for this app."""
        regions = {"EU": self.base_url + REGION_PREFIX} if self.regional else None
        return build_descriptor(
            app_key=APP_KEY,
            name="Agile Toolbox (test)",
            base_url=self.base_url,
            vendor=Vendor("Example", "https://example.com"),
            region_base_urls=regions,
        )

    async def _descriptor(self, _request: web.Request) -> web.Response:
        return web.json_response(self.descriptor())

    async def _lifecycle(self, request: web.Request) -> web.Response:
        event = request.match_info["event"]
        body = await request.json()
        connect = ConnectRequest.from_target(
            request.method, request.raw_path, authorization=request.headers.get("Authorization")
        )
        verifier = self.verifier()
        now = datetime.now(UTC)
        try:
            if event in ("installed", "uninstalled"):
                await verifier.verify_signed(connect, client_key=body["clientKey"], now=now)
            else:
                await verifier.verify_shared_secret(connect, client_key=body["clientKey"], now=now)
        except ConnectAuthError as error:
            self.events.append((event, error.code))
            return web.json_response({"error": error.code}, status=error.status)
        if body.get("eventType") != event:
            self.events.append((event, "event_type_mismatch"))
            return web.json_response({"error": "event_type_mismatch"}, status=400)
        self.events.append((event, None))
        self.payloads.append(body)
        if self.answer in (200, 204):
            if event == "installed":
                self.secrets[body["clientKey"]] = body["sharedSecret"]
                self.uninstalled.discard(body["clientKey"])
            if event == "uninstalled":
                self.uninstalled.add(body["clientKey"])
        return web.Response(status=self.answer)

    async def _verified(self, request: web.Request, route: RouteClass) -> web.Response:
        connect = ConnectRequest.from_target(
            request.method, request.raw_path, authorization=request.headers.get("Authorization")
        )
        verifier = ConnectJwtVerifier(self, base_urls=self.base_urls)
        try:
            caller = await verifier.verify(connect, route, now=datetime.now(UTC))
        except ConnectAuthError as error:
            return web.json_response({"error": error.code}, status=error.status)
        return web.json_response(caller_json(caller))

    async def _room(self, request: web.Request) -> web.Response:
        return await self._verified(request, RouteClass.PAGE)

    async def _whoami(self, request: web.Request) -> web.Response:
        return await self._verified(request, RouteClass.API)

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get("/atlassian-connect.json", self._descriptor)
        for prefix in ("", REGION_PREFIX):
            app.router.add_post(prefix + "/lifecycle/{event}", self._lifecycle)
            app.router.add_get(prefix + "/room", self._room)
        app.router.add_get("/api/whoami", self._whoami)
        return app
