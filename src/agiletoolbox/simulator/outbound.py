"""Calls the simulated Jira makes to the app: one JSON request, its answer or its fate."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import yarl
from attrs import frozen


@frozen
class Sent:
    """What came of a call: the status and body, or `error` (`timeout`, `unreachable`)."""

    status: int | None
    data: bytes = b""
    error: str | None = None


async def send_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any,
    headers: Mapping[str, str],
    *,
    seconds: float,
) -> Sent:
    """Send `body` as JSON (nothing for GET) to `url`, exactly as encoded, without
    following redirects, giving up after `seconds`."""
    try:
        async with session.request(
            method,
            yarl.URL(url, encoded=True),
            data=None if method == "GET" else json.dumps(body).encode(),
            headers=dict(headers),
            timeout=aiohttp.ClientTimeout(total=seconds),
            allow_redirects=False,
        ) as response:
            return Sent(response.status, await response.read())
    except TimeoutError:
        return Sent(None, error="timeout")
    except aiohttp.ClientError:
        return Sent(None, error="unreachable")
