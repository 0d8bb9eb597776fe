"""Health, readiness and metrics."""

from __future__ import annotations

import gc
import hmac
import time
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, Histogram, generate_latest

from agiletoolbox.adapters.http.caller import NotAuthenticated
from agiletoolbox.adapters.http.keys import DRAINING, LIVE, READY, WEB

routes = web.RouteTableDef()

OPEN_SOCKETS = Gauge("agiletoolbox_open_sockets", "Live room sockets open in this process")
LONG_PAUSE_SECONDS = 0.025
"""A collector pass longer than this shows in the live rooms' latency (a bucket bound)."""
COLLECTOR_PAUSES = Histogram(
    "agiletoolbox_gc_pause_seconds",
    "How long each pass of the garbage collector held this process (nothing else runs)",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, LONG_PAUSE_SECONDS, 0.05, 0.1, 0.25, 1.0),
)


class _PauseMeter:
    """Times each pass of the collector into `COLLECTOR_PAUSES` (a `gc.callbacks` entry)."""

    def __init__(self) -> None:
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            pause = time.perf_counter() - self._started
            COLLECTOR_PAUSES.labels(str(info["generation"])).observe(pause)


def watch_collector() -> None:
    """Report the collector's pauses in the metrics (once per process)."""
    if not any(isinstance(callback, _PauseMeter) for callback in gc.callbacks):
        for generation in range(3):  # each shows in the metrics before its first pass
            COLLECTOR_PAUSES.labels(str(generation))
        gc.callbacks.append(_PauseMeter())


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
