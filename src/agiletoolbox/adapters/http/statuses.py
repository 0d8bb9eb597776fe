"""How domain errors and HTTP failures are answered: one status, one JSON shape."""

from __future__ import annotations

from aiohttp import web

from agiletoolbox.domain import errors
from agiletoolbox.domain.residency import TransferFailed

STATUS_OF: tuple[tuple[type[errors.DomainError], int], ...] = (
    (TransferFailed, 503),
    (errors.FieldNotOnScreen, 409),
    (errors.EstimateNotConfirmed, 409),
    (errors.JiraIssueNotFound, 404),
    (errors.JiraAccessDenied, 403),
    (errors.JiraUnavailable, 503),
    (errors.JiraError, 503),
    (errors.InvalidValue, 422),
    (errors.NotPermitted, 403),
    (errors.NotFound, 404),
    (errors.InvalidState, 409),
    (errors.ConcurrentChange, 409),
    (errors.AccessRefused, 403),
)


def status_of(error: errors.DomainError) -> int:
    """The HTTP status a domain error is answered with."""
    for kind, status in STATUS_OF:
        if isinstance(error, kind):
            return status
    return 400


def error_response(status: int, code: str, message: str, **extra: object) -> web.Response:
    """The one shape of every error answer."""
    body: dict[str, object] = {"code": code, "message": message, **extra}
    return web.json_response({"error": body}, status=status)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}
