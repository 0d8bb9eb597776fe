"""Forge Remote over HTTP: the API's bearer authenticator and the lifecycle and tick routes.

Every call from Forge carries an invocation token (`Authorization: Bearer`); it is
verified before anything else, and only an invalid token answers 401 (Forge reads a 401
as "the remote could not verify the token"). A genuine token for an installation the
app does not serve is a 403; a key set that cannot be fetched, a 503.

- `POST /forge/lifecycle`: `avi:forge:installed:app` and `avi:forge:upgraded:app`, with
  the body flat or nested under `payload` (both shapes are documented): creates or links
  the tenant - the installation and site come from the verified token, the body may only
  agree - and keeps the system token. Idempotent; answered as soon as that is stored.
- `POST /forge/uninstall`: pre-uninstall, the same path as Connect's `uninstalled`.
- `POST /forge/tick`: the hourly scheduled trigger: keeps the fresh system token and
  starts the due jobs in the background (`DueJobs`).
- `/forge/dare/{schedule,start,status,commit,rollback}`: region migration, the same hooks
  as Connect's (`adapters/http/residency.py`), the tenant from the invocation's
  installation (`forge_tenant`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from attrs import frozen

from agiletoolbox.adapters.forge.claims import InvocationContext
from agiletoolbox.adapters.forge.credentials import (
    SYSTEM_TOKEN_HEADER,
    USER_TOKEN_HEADER,
    offered_token,
)
from agiletoolbox.adapters.forge.errors import ForgeAuthError, ForgeAuthFailure
from agiletoolbox.adapters.forge.invocation import InvocationTokenVerifier
from agiletoolbox.adapters.forge.ticks import DueJobs
from agiletoolbox.adapters.http.bodies import json_object
from agiletoolbox.adapters.http.caller import Caller, NotAuthenticated, project_key_of
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.site import installation_ari, parse_cloud_id
from agiletoolbox.ports import Clock, UnitOfWorkFactory, UserToken
from agiletoolbox.services.forge import ForgeService, SystemTokens
from agiletoolbox.services.tenants import ForgeInstallation

MAX_EVENT_BODY = 64 * 1024
FORGE_DARE_PATH = "/forge/dare"
"""Where the manifest's `migration:dataResidency` module sends its hooks."""
LIFECYCLE_EVENTS = frozenset({"avi:forge:installed:app", "avi:forge:upgraded:app"})
_BEARER = "bearer "
_SITE_ARI = "ari:cloud:jira::site/"


def bearer_token(request: web.Request) -> str:
    """The invocation token of `Authorization: Bearer …`; refused when missing or doubled."""
    headers = request.headers.getall("Authorization", [])
    if len(headers) > 1:
        raise NotAuthenticated(ForgeAuthFailure.AMBIGUOUS_TOKEN.value)
    header = headers[0].strip() if headers else ""
    token = header[len(_BEARER) :].strip() if header[:7].lower() == _BEARER else ""
    if not token:
        raise NotAuthenticated(ForgeAuthFailure.MISSING_TOKEN.value)
    return token


async def verified(
    verifier: InvocationTokenVerifier, request: web.Request, clock: Clock
) -> InvocationContext:
    """The verified invocation of a request; `NotAuthenticated` (401 or 503) otherwise."""
    try:
        return await verifier.verify(bearer_token(request), now=clock.now())
    except ForgeAuthError as error:
        raise NotAuthenticated(error.code, error.status) from None


class ForgeAuthenticator:
    """The API's Forge credential: an invocation token from `invokeRemote`/`requestRemote`."""

    def __init__(
        self,
        verifier: InvocationTokenVerifier,
        unit_of_work: UnitOfWorkFactory,
        tokens: SystemTokens,
        clock: Clock,
    ) -> None:
        self._verifier = verifier
        self._uow = unit_of_work
        self._tokens = tokens
        self._clock = clock

    def claims(self, request: web.Request) -> bool:
        """Whether the request carries a bearer token."""
        return request.headers.get("Authorization", "")[:7].lower() == _BEARER

    async def authenticate(self, request: web.Request) -> Caller:
        """The verified caller: tenant from the installation, person from `principal`."""
        invocation = await verified(self._verifier, request, self._clock)
        if invocation.principal is None:
            raise NotAuthenticated("a signed-in person is required", 403)
        async with self._uow() as uow:
            tenant = await uow.tenants.find_by_installation(invocation.installation_id)
        if tenant is None:
            # Genuine, but no lifecycle event introduced the installation: our refusal.
            raise NotAuthenticated("unknown_installation", 403)
        if not tenant.accessible:
            raise NotAuthenticated("tenant_inaccessible", 403)
        now = self._clock.now()
        api = invocation.app.api_base_url
        system = offered_token(request.headers.get(SYSTEM_TOKEN_HEADER), api, now)
        if system is not None:
            await self._tokens.keep(tenant.key, invocation.installation_id, system)
        user = offered_token(request.headers.get(USER_TOKEN_HEADER), api, now)
        user_token = (
            None
            if user is None
            else UserToken(invocation.installation_id, api, user.token, user.expires_at)
        )
        return Caller(
            tenant.key,
            invocation.principal,
            invocation.issue_key,
            user_token,
            project_key=project_key_of(invocation.context.project_key),
        )


@frozen
class ForgeSite:
    """Everything the Forge routes need."""

    verifier: InvocationTokenVerifier
    forge: ForgeService
    jobs: DueJobs
    clock: Clock


FORGE = web.AppKey("forge", ForgeSite)


def add_forge_routes(app: web.Application, site: ForgeSite) -> None:
    """Mount the lifecycle, pre-uninstall and tick routes."""
    app[FORGE] = site
    app.router.add_post("/forge/lifecycle", lifecycle)
    app.router.add_post("/forge/uninstall", uninstall)
    app.router.add_post("/forge/tick", tick)

    async def stop_jobs(app: web.Application) -> None:
        await app[FORGE].jobs.close()

    app.on_cleanup.append(stop_jobs)


async def _body(request: web.Request) -> dict[str, Any]:
    body = await json_object(request, MAX_EVENT_BODY, empty=True)
    # Forge's documents show the event both flat and nested under `payload`.
    inner = body.get("payload")
    return {**body, **inner} if isinstance(inner, dict) else body


def _event_cloud_id(body: dict[str, Any]) -> str | None:
    context = body.get("context")
    if isinstance(context, str) and context.startswith(_SITE_ARI):
        try:
            return parse_cloud_id(context.removeprefix(_SITE_ARI))
        except InvalidValue:
            return None
    return None


def _check_installation(body: dict[str, Any], invocation: InvocationContext) -> None:
    named = body.get("id")
    if named is None:
        return
    try:
        same = installation_ari(named) == invocation.installation_id
    except InvalidValue:
        same = False
    if not same:
        raise web.HTTPBadRequest(reason="the event names another installation than its token")


def _installation(body: dict[str, Any], invocation: InvocationContext) -> ForgeInstallation:
    site_url = invocation.context.site_url
    return ForgeInstallation(
        installation_id=invocation.installation_id,
        base_url=site_url or invocation.app.api_base_url,
        cloud_id=invocation.cloud_id or _event_cloud_id(body),
        site_url_known=site_url is not None,
    )


async def lifecycle(request: web.Request) -> web.Response:
    """`installed` or `upgraded`: create or link the tenant and keep the system token."""
    site = request.app[FORGE]
    invocation = await verified(site.verifier, request, site.clock)
    body = await _body(request)
    if body.get("eventType") not in LIFECYCLE_EVENTS:
        raise web.HTTPBadRequest(reason="eventType must be an installed or upgraded event")
    _check_installation(body, invocation)
    offered = offered_token(
        request.headers.get(SYSTEM_TOKEN_HEADER), invocation.app.api_base_url, site.clock.now()
    )
    await site.forge.installed(_installation(body, invocation), offered)
    return web.Response(status=204)


async def uninstall(request: web.Request) -> web.Response:
    """Pre-uninstall: stop serving the site and start its retention clock."""
    site = request.app[FORGE]
    invocation = await verified(site.verifier, request, site.clock)
    await site.forge.uninstalling(invocation.installation_id)
    return web.Response(status=204)


async def forge_tenant(request: web.Request) -> TenantKey:
    """The tenant of a Forge server-to-server call (the residency hooks): from the verified
    invocation's installation; 403 when no lifecycle event introduced it."""
    site = request.app[FORGE]
    invocation = await verified(site.verifier, request, site.clock)
    tenant = await site.forge.tenant_of(invocation.installation_id)
    if tenant is None:
        raise NotAuthenticated("unknown_installation", 403)
    return tenant


async def tick(request: web.Request) -> web.Response:
    """The scheduled trigger: keep the fresh system token, start the due jobs."""
    site = request.app[FORGE]
    invocation = await verified(site.verifier, request, site.clock)
    offered = offered_token(
        request.headers.get(SYSTEM_TOKEN_HEADER), invocation.app.api_base_url, site.clock.now()
    )
    if offered is not None:
        await site.forge.refreshed(invocation.installation_id, offered)
    site.jobs.kick()
    return web.Response(status=204)
