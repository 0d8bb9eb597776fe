"""Atlassian Connect over HTTP: the descriptor, the lifecycle callbacks, the room page's
token, and the authenticator for the API's context tokens.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from attrs import frozen

from agiletoolbox.adapters.connect.errors import ConnectAuthError
from agiletoolbox.adapters.connect.install import LifecycleVerifier
from agiletoolbox.adapters.connect.jwt import ConnectJwtVerifier, RouteClass
from agiletoolbox.adapters.connect.tokens import ConnectCaller, ConnectRequest
from agiletoolbox.adapters.http.bodies import json_object
from agiletoolbox.adapters.http.caller import Caller, NotAuthenticated, project_key_of
from agiletoolbox.domain.errors import DomainError, InvalidValue
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.tenant import ProductType
from agiletoolbox.ports import Clock, UnitOfWorkFactory
from agiletoolbox.services.tenants import Installation, TenantService

MAX_LIFECYCLE_BODY = 16 * 1024


def connect_request(request: web.Request) -> ConnectRequest:
    """What the Connect verifiers need of an aiohttp request (raw path and query)."""
    authorizations = request.headers.getall("Authorization", [])
    if len(authorizations) > 1:
        raise NotAuthenticated("ambiguous_token")
    return ConnectRequest.from_target(
        request.method,
        request.raw_path,
        authorization=authorizations[0] if authorizations else None,
    )


def refused(error: ConnectAuthError) -> NotAuthenticated:
    """The answer to a failed Connect authentication: its safe code and status."""
    return NotAuthenticated(error.code, error.reason.status)


class StoredTenantSecrets:
    """Tenant secrets for the JWT verifiers, read from the store."""

    def __init__(self, unit_of_work: UnitOfWorkFactory) -> None:
        self._uow = unit_of_work

    async def secret_for(self, client_key: str) -> str | None:
        """The shared secret of a known tenant."""
        try:
            key = TenantKey(client_key)
        except InvalidValue:
            return None
        async with self._uow() as uow:
            tenant = await uow.tenants.get(key)
        return None if tenant is None else tenant.shared_secret

    async def is_accessible(self, client_key: str) -> bool:
        """Whether the tenant may be served now."""
        async with self._uow() as uow:
            tenant = await uow.tenants.get(TenantKey(client_key))
        return tenant is not None and tenant.accessible


class ConnectAuthenticator:
    """The API's Connect credential: a context token (`qsh: context-qsh`) from `AP`."""

    def __init__(self, verifier: ConnectJwtVerifier, clock: Clock) -> None:
        self._verifier = verifier
        self._clock = clock

    def claims(self, request: web.Request) -> bool:
        """Whether the request carries a Connect JWT (header, or `?jwt=`)."""
        return request.headers.get("Authorization", "").startswith("JWT ") or (
            "jwt" in request.query
        )

    async def authenticate(self, request: web.Request) -> Caller:
        """The verified caller of a context token.

        `?jwt=` opens the live socket only (a browser cannot set headers on a socket); on
        any other route a token in the URL is refused, since URLs end up in logs, histories
        and Referer headers.
        """
        if "jwt" in request.query and not _live_socket(request):
            raise NotAuthenticated(
                "send the token in the Authorization header; ?jwt= opens the live socket only"
            )
        caller = await verify(self._verifier, request, RouteClass.API, self._clock)
        if caller.account_id is None:
            raise NotAuthenticated("a signed-in person is required")
        return Caller(
            caller.client_key,
            caller.account_id,
            caller.context.issue_key,
            project_key=project_key_of(caller.context.project_key),
        )


def _live_socket(request: web.Request) -> bool:
    return request.method == "GET" and request.path.endswith("/live")


async def verify(
    verifier: ConnectJwtVerifier, request: web.Request, route: RouteClass, clock: Clock
) -> ConnectCaller:
    """Verify a Connect JWT on a route of class `route`."""
    try:
        return await verifier.verify(connect_request(request), route, now=clock.now())
    except ConnectAuthError as error:
        raise refused(error) from None


@frozen
class ConnectSite:
    """Everything the Connect routes need."""

    descriptor: dict[str, Any]
    lifecycle: LifecycleVerifier
    verifier: ConnectJwtVerifier
    tenants: TenantService
    clock: Clock


CONNECT = web.AppKey("connect", ConnectSite)


def add_connect_routes(app: web.Application, site: ConnectSite) -> None:
    """Mount the descriptor and the lifecycle callbacks at the descriptor's paths."""
    app[CONNECT] = site
    lifecycle = site.descriptor["lifecycle"]
    app.router.add_get("/atlassian-connect.json", descriptor)
    for event in ("installed", "uninstalled", "enabled", "disabled"):
        app.router.add_post(lifecycle[event], _lifecycle_handler(event))


async def descriptor(request: web.Request) -> web.Response:
    """The Connect descriptor, built from the settings."""
    return web.json_response(request.app[CONNECT].descriptor)


def _lifecycle_handler(event: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        return await lifecycle_call(request, event)

    handle.__name__ = f"lifecycle_{event}"
    return handle


async def lifecycle_call(request: web.Request, event: str) -> web.Response:
    """Verify and apply one lifecycle callback; 204 whenever it is (or was) applied."""
    site = request.app[CONNECT]
    body = await json_object(request, MAX_LIFECYCLE_BODY)
    if body.get("eventType") != event:
        raise web.HTTPBadRequest(reason=f"eventType must be {event} on this route")
    client_key = body.get("clientKey")
    if not isinstance(client_key, str) or not client_key:
        raise web.HTTPBadRequest(reason="clientKey is missing")
    connect = connect_request(request)
    now = site.clock.now()
    try:
        if event in ("installed", "uninstalled"):
            await site.lifecycle.verify_signed(connect, client_key=client_key, now=now)
        else:
            await site.lifecycle.verify_shared_secret(connect, client_key=client_key, now=now)
    except ConnectAuthError as error:
        raise refused(error) from None
    key = TenantKey(client_key)
    if event == "installed":
        await site.tenants.installed(_installation(key, body), authenticated=True)
    elif event == "uninstalled":
        await site.tenants.uninstalled(key)
    elif event == "enabled":
        await site.tenants.enabled(key)
    else:
        await site.tenants.disabled(key)
    return web.Response(status=204)


def _installation(key: TenantKey, body: dict[str, Any]) -> Installation:
    fields = {name: body.get(name) for name in ("baseUrl", "sharedSecret", "productType")}
    if not all(isinstance(value, str) and value for value in fields.values()):
        raise InvalidValue("baseUrl, sharedSecret and productType are required")
    installation_id = body.get("installationId")
    if installation_id is not None and not isinstance(installation_id, str):
        raise InvalidValue("installationId must be text")
    try:
        product = ProductType.parse(str(fields["productType"]))
    except (DomainError, ValueError):
        raise InvalidValue("productType is not one this app serves") from None
    return Installation(
        key=key,
        base_url=str(fields["baseUrl"]),
        shared_secret=str(fields["sharedSecret"]),
        product_type=product,
        installation_id=installation_id,
    )
