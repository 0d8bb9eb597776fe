"""The signed transport: exact URLs, retries' hints, and bodies read as hostile input."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agiletoolbox.adapters.jira import SignedTransport
from agiletoolbox.adapters.jira.transport import encode_query, parse_json, parse_retry_after
from agiletoolbox.domain.errors import JiraUnavailable
from agiletoolbox.simulator import JiraSimulator
from tests.jira.kit import tenant_of

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
Serve = Callable[[web.Application], Awaitable[TestServer]]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 10 ", 10.0),
        ("Mon, 01 Jun 2026 12:00:30 GMT", 30.0),
        ("Mon, 01 Jun 2026 11:00:00 GMT", 0.0),
        ("9" * 9, 86400.0),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


@pytest.mark.parametrize(
    ("data", "parsed"),
    [
        (b"", (None, True)),
        (b'{"a": 1}', ({"a": 1}, True)),
        (b'{"a": 1, "a": 2}', (None, False)),
        (b'{"a": NaN}', (None, False)),
        (b"[" * 100_000, (None, False)),
        (b"\xff", (None, False)),
    ],
)
def test_json_is_read_strictly(data: bytes, parsed: tuple[object, bool]) -> None:
    assert parse_json(data) == parsed


def test_query_is_encoded_the_rfc_3986_way() -> None:
    assert encode_query([("fields", "a,b"), ("q", "x y/ü~")]) == "fields=a%2Cb&q=x%20y%2F%C3%BC~"


async def test_the_url_is_sent_as_signed(jira: JiraSimulator, transport: SignedTransport) -> None:
    """Parameters with reserved and non-ASCII characters still match the simulator's qsh."""
    tenant = tenant_of(jira)

    response = await transport.request(
        "GET",
        base_url=tenant.base_url,
        path="/rest/api/3/field",
        params=[("expand", "a b,c"), ("name", "Größe/size"), ("empty", ""), ("tilde", "~*")],
        secret=tenant.shared_secret,
    )

    assert response.status == 200
    assert jira.recorder.requests[-1].jwt_valid


async def test_an_oversized_body_is_refused(
    aiohttp_server: Serve, transport: SignedTransport
) -> None:
    async def huge(_request: web.Request) -> web.Response:
        return web.Response(body=b"[" + b"1," * (2 * 1024 * 1024) + b"1]")

    app = web.Application()
    app.router.add_get("/rest/api/3/field", huge)
    server = await aiohttp_server(app)

    with pytest.raises(JiraUnavailable, match="more data"):
        await transport.request(
            "GET", base_url=str(server.make_url("")), path="/rest/api/3/field", secret="s" * 32
        )


async def test_a_streamed_oversized_body_is_refused(
    aiohttp_server: Serve, transport: SignedTransport
) -> None:
    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(40):
            await response.write(b" " * 65536)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/x", streamed)
    server = await aiohttp_server(app)

    with pytest.raises(JiraUnavailable, match="more data"):
        await transport.request(
            "GET", base_url=str(server.make_url("")), path="/x", secret="s" * 32
        )


async def test_redirects_are_not_followed(
    aiohttp_server: Serve, transport: SignedTransport
) -> None:
    followed: list[str] = []

    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.headers.get("Authorization", ""))
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/x", moved)
    app.router.add_get("/elsewhere", elsewhere)
    server = await aiohttp_server(app)

    response = await transport.request(
        "GET", base_url=str(server.make_url("")), path="/x", secret="s" * 32
    )

    assert response.status == 302
    assert followed == []


async def test_unreadable_json_is_flagged(
    aiohttp_server: Serve, transport: SignedTransport
) -> None:
    async def garbage(_request: web.Request) -> web.Response:
        return web.Response(text="<html>oops</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/x", garbage)
    server = await aiohttp_server(app)

    response = await transport.request(
        "GET", base_url=str(server.make_url("")), path="/x", secret="s" * 32
    )

    assert (response.status, response.body, response.readable) == (200, None, False)
