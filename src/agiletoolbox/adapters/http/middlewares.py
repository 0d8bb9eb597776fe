"""The middlewares: errors to JSON, authentication, security headers.

Every error leaves the server in one shape, `{"error": {"code", "message"}}`, with the
status that fits; domain errors are mapped here and nowhere else. Nothing a client sees
or a log line records carries a stack trace, a token or a secret.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from agiletoolbox.adapters.http.caller import NotAuthenticated
from agiletoolbox.adapters.http.keys import AUTHENTICATORS, CALLER, ERRORS, RATES, WEB
from agiletoolbox.adapters.http.limits import LIMITED, RateLimited
from agiletoolbox.adapters.http.statuses import HTTP_CODES, error_response, status_of
from agiletoolbox.adapters.http.wire import BodyError
from agiletoolbox.domain import errors
from agiletoolbox.services.errors import kind_of, stack_of

log = logging.getLogger("agiletoolbox.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_middleware(  # noqa: PLR0911 - one answer per kind of failure
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Answer every failure as JSON with the right status; never a trace."""
    try:
        return await handler(request)
    except NotAuthenticated as error:
        code = HTTP_CODES.get(error.status, "error") if error.status != 401 else "unauthenticated"
        return error_response(error.status, code, error.reason)
    except BodyError as error:
        return error_response(422, "invalid_body", "the body is not valid", details=error.details)
    except RateLimited as error:
        LIMITED.labels(error.limit).inc()
        response = error_response(
            429,
            "too_many_requests",
            f"{error.message}: try again in {error.seconds} s",
            retryAfter=error.seconds,
        )
        response.headers["Retry-After"] = str(error.seconds)
        return response
    except errors.DomainError as error:
        return error_response(status_of(error), error.code, error.message)
    except ConnectionError:
        # The store cannot be reached (its adapter raises a ConnectionError): try later.
        return error_response(503, "unavailable", "the service is briefly unavailable")
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = HTTP_CODES.get(error.status, "error")
        return error_response(error.status, code, error.reason)
    except Exception as error:  # noqa: BLE001 - the last line: a stored report and a 500
        incident = await report_error(request, error)
        return error_response(500, "internal", "something went wrong", incident=incident)


async def report_error(request: web.Request, error: BaseException) -> str:
    """Store a scrubbed report of an unexpected error; the client sees its id only.

    The report says where (the stack, without the error's message), the error's type and
    the route - never what the request held."""
    caller = request.get(CALLER)
    route = request.match_info.route.resource
    try:
        report = await request.app[ERRORS].record(
            where=stack_of(error),
            message=(
                f"{kind_of(error)} on {request.method} "
                f"{route.canonical if route is not None else '(no route)'}"
            ),
            code=type(error).__name__,
            tenant=caller.tenant if caller is not None else None,
            account_ids=[caller.account.value] if caller is not None else [],
        )
    except Exception as storing:  # noqa: BLE001 - the request's failure is the news
        incident = secrets.token_hex(16)
        # No trace here: it may quote what the report would have scrubbed.
        log.error(  # noqa: TRY400
            "could not store the report of error %s: %s", incident, type(storing).__name__
        )
        return incident
    # The operator's log names the report and the route; the trace is in the report.
    log.error("unexpected error %s on %s %s", report.id, request.method, request.path)
    return report.id


@web.middleware
async def authentication_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn an `/api/` request's credential into a verified caller, or answer 401."""
    if request.path.startswith("/api/") and request.path != "/api/openapi.json":
        live_socket = request.path.endswith("/live") and request.method == "GET"
        for authenticator in request.app[AUTHENTICATORS]:
            if authenticator.claims(request):
                caller = request[CALLER] = await authenticator.authenticate(request)
                request.app[RATES].take(caller.tenant, caller.account)
                break
        else:
            if not live_socket:  # sockets authenticate with a ticket instead
                raise NotAuthenticated()
    return await handler(request)


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers that keep pages framed only by Jira and answers out of caches."""
    response = await handler(request)
    settings = request.app[WEB]
    headers = response.headers
    ancestors = " ".join(settings.frame_ancestors)
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self' https://connect-cdn.atl-paas.net; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
        "connect-src 'self' wss: ws:; object-src 'none'; base-uri 'none'; "
        f"frame-ancestors 'self' {ancestors}",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if settings.production:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    return response
