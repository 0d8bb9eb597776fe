"""Requests the HTTP parser refuses before the app sees them: the app's error shape and
headers, and a log line that says what was refused, never what the request held."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest

from agiletoolbox.adapters.http.protocol import GuardedAppRunner
from tests.http.kit import Backend

TOKEN_START = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEiLCJxc2giOiJ"


@pytest.fixture
async def port(backend: Backend) -> AsyncIterator[int]:
    from aiohttp import web

    runner = GuardedAppRunner(backend.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    yield server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await runner.cleanup()


async def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        # A header over 8,190 bytes that starts with a token.
        (
            b"GET /api/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: JWT "
            + TOKEN_START.encode()
            + b"A" * 9000
            + b"\r\n\r\n"
        ),
        # A URL over 8,190 bytes with a token in its query.
        b"GET /api/rooms?jwt="
        + TOKEN_START.encode()
        + b"A" * 9000
        + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        # A request line that is not HTTP.
        b"GET /?jwt=" + TOKEN_START.encode() + b" NOTHTTP\r\n\r\n",
    ],
    ids=["long-header", "long-url", "bad-request-line"],
)
async def test_an_unreadable_request_gets_the_json_shape_and_leaves_no_bytes_in_the_log(
    port: int, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, headers, body = await exchange(port, request_bytes)
    assert 400 <= status < 500
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"}
    assert TOKEN_START[:8] not in body.decode()
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert "server" not in headers
    logged = "\n".join(
        record.getMessage() + (str(record.exc_info) if record.exc_info else "")
        for record in caplog.records
    )
    assert "refused a request" in logged
    assert TOKEN_START[:8] not in logged
    assert not any(record.exc_info for record in caplog.records), "no traceback in the log"
    assert not any(record.levelno >= logging.ERROR for record in caplog.records)
