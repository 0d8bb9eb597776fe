"""Reading the JSON object body of a server-to-server call (lifecycle, migration hooks,
Forge events), bounded in size before it is parsed."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


async def json_object(request: web.Request, limit: int, *, empty: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 413 past `limit` bytes, 400 when it is not one.

    With `empty`, a body with nothing in it reads as `{}`.
    """
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise web.HTTPRequestEntityTooLarge(
            max_size=limit, actual_size=len(raw), reason="the body is too large"
        )
    if empty and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise web.HTTPBadRequest(reason="the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body must be a JSON object")
    return body
