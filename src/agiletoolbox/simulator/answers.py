"""What the simulated Jira answers the same way on every endpoint: its error collection,
the missing-issue message, and a request body read as a JSON object."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

NO_ISSUE = "Issue does not exist or you do not have permission to see it."
UNREADABLE = "Can not deserialize the request body."


def errors(status: int, messages: list[str], field_errors: dict[str, str]) -> web.Response:
    """Jira's `ErrorCollection` answer."""
    return web.json_response({"errorMessages": messages, "errors": field_errors}, status=status)


async def json_body(request: web.Request) -> dict[str, Any] | None:
    """The request's body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(await request.text())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
