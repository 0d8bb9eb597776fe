"""Region migration over HTTP: Atlassian's hooks, and the transfer route between regions.

The Connect hooks live under the descriptor's `dare-migration` path and are signed with
the tenant's shared secret like the other lifecycle calls; the Forge hooks live under
`/forge/dare` and carry an invocation token. A refusal Atlassian must not
retry carries `errorResponseCode` (E0001-E0004, E9999) beside the usual error body.

`POST /region/transfer` is called by the other region's deployment only: its body is a
sealed message (see `adapters/region/envelope.py`), and so is the answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from attrs import frozen

from agiletoolbox.adapters.connect.jwt import RouteClass
from agiletoolbox.adapters.http.bodies import json_object
from agiletoolbox.adapters.http.connect import CONNECT, verify
from agiletoolbox.adapters.http.statuses import error_response
from agiletoolbox.adapters.region.envelope import EnvelopeRefused, Sealer, answer_purpose
from agiletoolbox.domain.errors import DomainError, InvalidValue
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.residency import (
    MigrationErrorCode,
    MigrationRefused,
    StatusAnswer,
    parse_location,
    parse_migration_id,
)
from agiletoolbox.domain.tenant import Region
from agiletoolbox.ports import Clock
from agiletoolbox.ports.residency import TenantBundle
from agiletoolbox.services.residency import RegionArrivals, RegionMigrations

log = logging.getLogger(__name__)

MAX_HOOK_BODY = 16 * 1024
MAX_TRANSFER_BODY = 256 * 1024 * 1024
COPY_WAIT = 10.0
"""How long the start hook waits for the copy before answering "in progress"."""

HOOKS = ("schedule", "start", "status", "commit", "rollback")


@frozen
class ResidencySite:
    """Everything the residency routes need."""

    migrations: RegionMigrations
    arrivals: RegionArrivals
    sealer: Sealer | None
    region: Region
    clock: Clock
    copies: set[asyncio.Task[StatusAnswer]]


RESIDENCY = web.AppKey("residency", ResidencySite)


TenantOf = Callable[[web.Request], Awaitable[TenantKey]]
"""Who calls a hook: the tenant its verified credential names (Connect JWT, Forge token)."""

_CALLER = web.AppKey("residency_caller", dict[str, TenantOf])


def add_residency_routes(app: web.Application, site: ResidencySite) -> None:
    """Mount the transfer route; `add_migration_hooks` mounts each platform's hooks."""
    app[RESIDENCY] = site
    app[_CALLER] = {}
    app.router.add_post("/region/transfer", transfer)
    app.on_shutdown.append(_stop_copies)


def add_migration_hooks(app: web.Application, path: str, tenant_of: TenantOf) -> None:
    """Mount the five migration hooks under `path`, their caller verified by `tenant_of`."""
    base = path.rstrip("/")
    app[_CALLER][base] = tenant_of
    app.router.add_post(f"{base}/schedule", schedule)
    app.router.add_post(f"{base}/start", start)
    app.router.add_get(f"{base}/status", status)
    app.router.add_post(f"{base}/commit", commit)
    app.router.add_post(f"{base}/rollback", rollback)


async def connect_tenant(request: web.Request) -> TenantKey:
    """The tenant of a Connect hook: signed with its shared secret, bound to the request."""
    connect = request.app[CONNECT]
    caller = await verify(connect.verifier, request, RouteClass.LIFECYCLE, connect.clock)
    return caller.client_key


async def _stop_copies(app: web.Application) -> None:
    # A copy cut short leaves the migration in progress; its status turns to failed
    # once it has stalled, and Atlassian rolls back.
    for task in list(app[RESIDENCY].copies):
        task.cancel()


def _refusal(error: MigrationRefused) -> web.Response:
    status = 404 if error.error_code is MigrationErrorCode.NOT_SCHEDULED else 409
    body = {
        "error": {"code": error.code, "message": str(error)},
        "errorResponseCode": error.error_code.value,
    }
    return web.json_response(body, status=status)


def _answer(answer: StatusAnswer) -> web.Response:
    body = {"status": answer.status}
    if answer.error_response_code is not None:
        body["errorResponseCode"] = answer.error_response_code
    return web.json_response(body)


async def _caller(request: web.Request) -> TenantKey:
    base = request.path.rsplit("/", 1)[0]
    return await request.app[_CALLER][base](request)


async def _body(request: web.Request) -> dict[str, Any]:
    return await json_object(request, MAX_HOOK_BODY, empty=True)


def _migration_id(value: object) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise MigrationRefused(MigrationErrorCode.GENERIC, "migrationId is required")
    return parse_migration_id(value)


def _moment(value: object, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MigrationRefused(MigrationErrorCode.GENERIC, f"{name} is not a time") from None
    if moment.tzinfo is None:
        raise MigrationRefused(MigrationErrorCode.GENERIC, f"{name} needs a timezone")
    return moment


async def schedule(request: web.Request) -> web.Response:
    """`POST …/schedule` `{startTime, endTime, location, migrationId}`."""
    tenant = await _caller(request)
    body = await _body(request)
    try:
        answer = await request.app[RESIDENCY].migrations.schedule(
            tenant,
            _migration_id(body.get("migrationId")),
            parse_location(str(body.get("location", ""))),
            _moment(body.get("startTime"), "startTime"),
            _moment(body.get("endTime"), "endTime"),
        )
    except MigrationRefused as error:
        return _refusal(error)
    return _answer(answer)


async def start(request: web.Request) -> web.Response:
    """`POST …/start`: stop serving the site and copy it; answers once copied, or after
    `COPY_WAIT` seconds with "in-progress" while the copy goes on."""
    site = request.app[RESIDENCY]
    tenant = await _caller(request)
    body = await _body(request)
    try:
        migration_id = _migration_id(body.get("migrationId"))
        due = await site.migrations.start(tenant, migration_id)
        if not due:
            return _answer(await site.migrations.status(tenant, migration_id))
    except MigrationRefused as error:
        return _refusal(error)
    task = asyncio.get_running_loop().create_task(site.migrations.copy(tenant, migration_id))
    site.copies.add(task)
    task.add_done_callback(site.copies.discard)
    try:
        return _answer(await asyncio.wait_for(asyncio.shield(task), COPY_WAIT))
    except TimeoutError:
        return _answer(StatusAnswer("in-progress"))


async def status(request: web.Request) -> web.Response:
    """`GET …/status?migrationId=`."""
    tenant = await _caller(request)
    try:
        answer = await request.app[RESIDENCY].migrations.status(
            tenant, _migration_id(request.query.get("migrationId"))
        )
    except MigrationRefused as error:
        return _refusal(error)
    return _answer(answer)


async def commit(request: web.Request) -> web.Response:
    """`POST …/commit` `{migrationId}`."""
    return await _decide(request, "committed")


async def rollback(request: web.Request) -> web.Response:
    """`POST …/rollback` `{migrationId}`."""
    return await _decide(request, "rolled-back")


async def _decide(request: web.Request, outcome: str) -> web.Response:
    tenant = await _caller(request)
    body = await _body(request)
    migrations = request.app[RESIDENCY].migrations
    step = migrations.commit if outcome == "committed" else migrations.rollback
    try:
        await step(tenant, _migration_id(body.get("migrationId")))
    except MigrationRefused as error:
        return _refusal(error)
    return web.json_response({"status": outcome})


# -- between regions --------------------------------------------------------------------


async def transfer(request: web.Request) -> web.Response:
    """`POST /region/transfer`: a sealed step of a migration into this region."""
    site = request.app[RESIDENCY]
    if site.sealer is None:
        return error_response(404, "not_found", "region transfers are off here")
    raw = await request.content.read(MAX_TRANSFER_BODY + 1)
    if len(raw) > MAX_TRANSFER_BODY:
        return error_response(413, "too_large", "the transfer is too large")
    try:
        envelope = json.loads(raw)
        payload = site.sealer.open("request", envelope, now=site.clock.now())
    except (ValueError, UnicodeDecodeError, EnvelopeRefused):
        log.warning("refused a region transfer that was not sealed with the peer key")
        return error_response(401, "unauthenticated", "the transfer is not authenticated")
    answer = await _apply(site, payload)
    sealed = site.sealer.seal(answer_purpose(envelope), answer, now=site.clock.now())
    return web.json_response(sealed)


async def _apply(site: ResidencySite, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        source = Region.parse(str(payload.get("source")))
        if Region.parse(str(payload.get("target"))) is not site.region:
            raise InvalidValue("the transfer is meant for another region")
        tenant = TenantKey(str(payload.get("tenant")))
        migration_id = _migration_id(payload.get("migrationId"))
        op = payload.get("op")
        if op == "stage":
            data = base64.b64decode(str(payload.get("bundle")), validate=True)
            bundle = TenantBundle(tenant, data)
            if bundle.digest != payload.get("digest"):
                raise InvalidValue("the copy does not match its digest")
            digest = await site.arrivals.stage(migration_id, source, bundle)
            return {"ok": True, "digest": digest}
        if op == "commit":
            await site.arrivals.commit(tenant, migration_id)
        elif op == "rollback":
            await site.arrivals.rollback(tenant, migration_id)
        else:
            raise InvalidValue("unknown transfer step")
    except binascii.Error:
        return {"ok": False, "code": "invalid_value", "message": "the copy is not base64"}
    except DomainError as error:
        return {"ok": False, "code": error.code, "message": str(error)}
    return {"ok": True}
