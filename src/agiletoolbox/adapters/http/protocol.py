"""The HTTP protocol's own refusals, in the app's shape.

A request the parser cannot read (a header or URL over 8,190 bytes, a malformed request
line) never reaches the app: aiohttp answers it itself, in plain text that quotes the
start of the offending bytes, without the app's security headers, and logs an ERROR with
a traceback and the same bytes (a token's start reached the log that way). Here such a
request gets the JSON error shape and the headers every answer carries, and the log says
what was refused, never what it held.

aiohttp builds its answer in `RequestHandler.handle_error`; the runner here makes its
server hand out a handler that answers instead.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_request import BaseRequest

from agiletoolbox.adapters.http.statuses import HTTP_CODES, error_response

log = logging.getLogger("agiletoolbox.http")

ERROR_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
"""The headers of a refusal made before the app sees the request (nothing is framed)."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


class _Refusal(web.Response):
    """A response that does not name the server (the app drops the header in its
    `on_response_prepare` hook, which a refusal made here never passes)."""

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        self.headers.popall("Server", None)


class GuardedRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, with refusals answered in the app's shape."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Answer a request aiohttp could not hand to the app (unreadable, or timed
        out); log the kind of failure only: `message` and `exc` quote the bytes."""
        del message  # it quotes what the client sent
        kind = type(exc).__name__ if exc is not None else "no error"
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            log.error("refused a request with %d: %s", status, kind)
        else:
            log.warning("refused a request the server could not read (%d): %s", status, kind)
        if request.writer.output_size > 0:
            # Part of an answer went out already: the connection can only be dropped.
            raise ConnectionError("an answer was under way")
        code = HTTP_CODES.get(status, "internal" if status >= 500 else "bad_request")
        shaped = error_response(status, code, f"the request was refused: {_reason(status)}")
        response = _Refusal(
            status=status, body=shaped.body, content_type="application/json", charset="utf-8"
        )
        response.headers.update(ERROR_HEADERS)
        response.force_close()
        return response


class GuardedServer(web.Server):
    """An aiohttp server whose connections are handled by `GuardedRequestHandler`."""

    def __call__(self) -> web.RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


PRECISE_TIMERS_SECONDS = 60.0
"""aiohttp rounds a connection's timer of more than this up to the next whole second
(`timeout_ceil_threshold`, 5 s by default). A socket's heartbeat is such a timer: rounded,
every socket whose ping fell due in the same second was pinged in one turn of the event
loop, which with 1,000 sockets opened together stopped the process for tens of ms every
heartbeat (docs/scaling.md). Timers up to a minute fire when due; longer ones (keep-alive)
are still rounded."""


class GuardedAppRunner(web.AppRunner):
    """`web.AppRunner`, serving through a `GuardedServer`, its connections' timers of up to
    `PRECISE_TIMERS_SECONDS` firing when due."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("timeout_ceil_threshold", PRECISE_TIMERS_SECONDS)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The app builds a plain Server (Application._make_handler); the guarded one adds
        # behaviour only, no state, so it takes the built one over as it is.
        server.__class__ = GuardedServer
        return server
