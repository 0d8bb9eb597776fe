"""The application factory."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiohttp import web

from agiletoolbox.adapters.http import health, pages, rooms
from agiletoolbox.adapters.http.caller import Authenticator
from agiletoolbox.adapters.http.connect import ConnectSite, add_connect_routes
from agiletoolbox.adapters.http.forge import (
    FORGE_DARE_PATH,
    ForgeSite,
    add_forge_routes,
    forge_tenant,
)
from agiletoolbox.adapters.http.keys import (
    AUTHENTICATORS,
    DRAINING,
    ERRORS,
    LIVE,
    LIVE_SESSIONS,
    RATES,
    READY,
    ROOMS,
    SESSIONS,
    SOCKETS,
    TICKETS,
    WEB,
)
from agiletoolbox.adapters.http.limits import RestRates
from agiletoolbox.adapters.http.live import LiveRooms
from agiletoolbox.adapters.http.live_sessions import LiveSessions
from agiletoolbox.adapters.http.middlewares import (
    authentication_middleware,
    errors_middleware,
    report_error,
    security_headers_middleware,
)
from agiletoolbox.adapters.http.openapi import openapi_json
from agiletoolbox.adapters.http.residency import (
    ResidencySite,
    add_migration_hooks,
    add_residency_routes,
    connect_tenant,
)
from agiletoolbox.adapters.http.sessions import add_session_routes
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.http.web_settings import WebSettings
from agiletoolbox.adapters.memory.presence import LocalPresence
from agiletoolbox.ports import RoomEventBus
from agiletoolbox.ports.presence import PresenceBoard
from agiletoolbox.services.errors import ErrorReportService
from agiletoolbox.services.rooms import RoomService
from agiletoolbox.services.sessions import SessionService


async def _without_server_header(_request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp names itself and its version in every answer; that helps only an attacker.
    response.headers.popall("Server", None)


def create_app(
    *,
    rooms_service: RoomService,
    sessions_service: SessionService,
    error_reports: ErrorReportService,
    bus: RoomEventBus,
    authenticators: Sequence[Authenticator],
    tickets: TicketBook,
    ready: Callable[[], Awaitable[bool]],
    settings: WebSettings,
    connect: ConnectSite | None = None,
    residency: ResidencySite | None = None,
    forge: ForgeSite | None = None,
    presence: PresenceBoard | None = None,
) -> web.Application:
    """The aiohttp application with every route, middleware and live room."""
    app = web.Application(
        middlewares=[security_headers_middleware, errors_middleware, authentication_middleware],
        client_max_size=settings.max_body_bytes,
    )
    live = LiveRooms(rooms_service, bus, settings, presence or LocalPresence(), report=report_error)
    live_sessions = LiveSessions(
        sessions_service, rooms_service, bus, settings, report=report_error
    )
    app.on_response_prepare.append(_without_server_header)
    app[ROOMS] = rooms_service
    app[ERRORS] = error_reports
    app[AUTHENTICATORS] = tuple(authenticators)
    app[TICKETS] = tickets
    app[LIVE] = live
    app[WEB] = settings
    app[READY] = ready
    app[SOCKETS] = weakref.WeakSet()
    app[DRAINING] = [False]
    app[RATES] = RestRates(settings.limits)
    app[SESSIONS] = sessions_service
    app[LIVE_SESSIONS] = live_sessions
    app.add_routes(health.routes)
    rooms.add_room_routes(app)
    add_session_routes(app)
    app.add_routes(pages.routes)
    pages.add_static_routes(app)
    app.router.add_get("/api/openapi.json", openapi_json)
    if residency is not None:
        add_residency_routes(app, residency)
    if connect is not None:
        add_connect_routes(app, connect)
        if residency is not None:
            hooks = connect.descriptor["lifecycle"]["dare-migration"]
            add_migration_hooks(app, hooks, connect_tenant)
    if forge is not None:
        add_forge_routes(app, forge)
        if residency is not None:
            add_migration_hooks(app, FORGE_DARE_PATH, forge_tenant)

    async def live_rooms(app: web.Application) -> AsyncIterator[None]:
        app[LIVE].start()
        app[LIVE_SESSIONS].start()
        yield
        await app[LIVE].close()
        await app[LIVE_SESSIONS].close()

    app.cleanup_ctx.append(live_rooms)
    app.on_shutdown.append(_drain)
    return app


async def _drain(app: web.Application) -> None:
    """On shutdown: readiness goes red, then every socket is closed with 1001."""
    app[DRAINING][0] = True
    await app[LIVE].close()
    await app[LIVE_SESSIONS].close()
