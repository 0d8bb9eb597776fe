"""Health, readiness and metrics."""

from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from agiletoolbox.adapters.http.caller import NotAuthenticated
from agiletoolbox.adapters.http.keys import DRAINING, LIVE, READY, WEB

routes = web.RouteTableDef()

OPEN_SOCKETS = Gauge("agiletoolbox_open_sockets", "Live room sockets open in this process")


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The process takes traffic: not draining, and the database answers."""
    if request.app[DRAINING][0]:
        return web.json_response({"status": "draining"}, status=503)
    try:
        ready = await request.app[READY]()
    except Exception:  # noqa: BLE001 - any failure to reach the database means not ready
        ready = False
    if not ready:
        return web.json_response({"status": "database unreachable"}, status=503)
    return web.json_response({"status": "ready"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics: behind `Authorization: Bearer <metrics token>` when one is set;
    without one, open outside production and off in it (they tell how busy a site is)."""
    settings = request.app[WEB]
    if settings.metrics_token is not None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            raise NotAuthenticated("send the metrics token as Authorization: Bearer")
    elif settings.production:
        raise web.HTTPNotFound(reason="set AGILETOOLBOX_METRICS_TOKEN to read the metrics")
    OPEN_SOCKETS.set(request.app[LIVE].socket_count)
    response = web.Response(body=generate_latest(REGISTRY))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response
