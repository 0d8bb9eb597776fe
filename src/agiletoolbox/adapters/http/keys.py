"""Every piece of application state, under a typed key."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from agiletoolbox.adapters.http.caller import Authenticator, Caller
from agiletoolbox.adapters.http.limits import RestRates
from agiletoolbox.adapters.http.live import LiveRooms
from agiletoolbox.adapters.http.live_sessions import LiveSessions
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.http.web_settings import WebSettings
from agiletoolbox.services.errors import ErrorReportService
from agiletoolbox.services.rooms import RoomService
from agiletoolbox.services.sessions import SessionService

ROOMS = web.AppKey("rooms", RoomService)
ERRORS = web.AppKey("errors", ErrorReportService)
AUTHENTICATORS = web.AppKey("authenticators", Sequence[Authenticator])
TICKETS = web.AppKey("tickets", TicketBook)
LIVE = web.AppKey("live", LiveRooms)
WEB = web.AppKey("web", WebSettings)
READY: web.AppKey[Callable[[], Awaitable[bool]]] = web.AppKey("ready")
SOCKETS = web.AppKey("sockets", weakref.WeakSet[web.WebSocketResponse])
DRAINING = web.AppKey("draining", list[bool])
RATES = web.AppKey("rates", RestRates)
SESSIONS = web.AppKey("sessions", SessionService)
LIVE_SESSIONS = web.AppKey("live_sessions", LiveSessions)

CALLER = web.RequestKey("caller", Caller)


def caller_of(request: web.Request) -> Caller:
    """The verified caller the authentication middleware put on the request."""
    caller = request.get(CALLER)
    if not isinstance(caller, Caller):
        raise web.HTTPUnauthorized()
    return caller
