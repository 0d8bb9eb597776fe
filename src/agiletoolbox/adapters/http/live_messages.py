"""What a live socket's messages look like on the way in, and its refusals on the way out.

A message is checked before anything deeper sees it: JSON, an object, nested at most
`strict_json.MAX_DEPTH` deep, its `id` short text or a number (it is echoed back, so it
must be one the encoder and the page can take).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import WSCloseCode
from attrs import define

from agiletoolbox.adapters import strict_json
from agiletoolbox.adapters.http.limits import retry_after
from agiletoolbox.adapters.http.wire import BodyError


def decode(text: str) -> dict[str, Any]:
    """A socket message as a JSON object; `ValueError` (a `BodyError` saying where) if not."""
    message = orjson.loads(text)
    if not isinstance(message, dict):
        raise BodyError(["a command is a JSON object @ message"])
    try:
        strict_json.check_depth(message)
    except ValueError as error:
        raise BodyError([f"{error} @ message"]) from None
    return message


MAX_REQUEST_ID = 64
"""The longest text a command's `id` may be (the page's are about 12 characters)."""


def request_id_of(value: object) -> str | int | None:
    """A command's `id` as it is echoed back: short text, a whole number, or none."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and len(value) <= MAX_REQUEST_ID and value.isprintable():
        return value
    raise BodyError(
        [f"an id is text of at most {MAX_REQUEST_ID} printable characters or a number @ message.id"]
    )


def close_reason(error: object, limit: int) -> str:
    """Why aiohttp closed a socket, in words that quote nothing the client sent."""
    code = getattr(error, "code", None)
    if code == WSCloseCode.MESSAGE_TOO_BIG:
        return f"a message over the {limit}-byte limit"
    return f"a malformed frame ({type(error).__name__})"


def error_message(request_id: object, status: int, code: str, message: str) -> dict[str, Any]:
    """The `error` answer to the command `request_id`."""
    return {
        "type": "error",
        "id": request_id,
        "error": {"status": status, "code": code, "message": message},
    }


def rate_limited(text: str, seconds: float) -> dict[str, Any]:
    """The `error` answer to a command over the socket's rate (its id, when it has a
    readable one), with the whole seconds to wait in `retryAfter`."""
    try:
        request_id = request_id_of(decode(text).get("id"))
    except ValueError:
        request_id = None
    wait = retry_after(seconds)
    answer = error_message(
        request_id, 429, "too_many_requests", f"too many commands: try again in {wait} s"
    )
    answer["error"]["retryAfter"] = wait
    return answer


@define
class Empty:
    """A command without arguments."""


@define
class Sync:
    """`{"op": "sync", "version": n}`: the client's last version (it gets the current view)."""

    version: int = 0
