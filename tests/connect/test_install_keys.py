"""Install keys: the key-id pattern, the cache by kid, and the aiohttp fetcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.adapters.connect.install_keys import (
    AiohttpKeyFetcher,
    InstallKeyNotFound,
    InstallKeys,
    InstallKeyUnavailable,
    MemoryKeyFetcher,
    load_rsa_public_key,
    valid_key_id,
)
from agiletoolbox.ports.jira import InstallKeyProvider
from tests.connect.tokenkit import KID, public_pem, rsa_key

KEYS_URL = "https://keys.example.com"
PEM = public_pem(rsa_key("atlassian"))


@pytest.mark.parametrize("kid", [KID, "abc", "A_b-9", "connect/prod-1", "a/b/c", "x" * 256])
def test_valid_key_ids(kid: str) -> None:
    assert valid_key_id(kid)


@pytest.mark.parametrize(
    "kid",
    ["", ".", "..", "../x", "a/../b", "a/./b", "%2e", "a\\b", "a:b", "a@b", "a?b", "a#b",
     "a b", "/a", "a/", "a//b", "a.b", "é", "x" * 257, None, 7],
)  # fmt: skip
def test_invalid_key_ids(kid: object) -> None:
    assert not valid_key_id(kid)


@given(st.text(max_size=40))
def test_a_valid_key_id_cannot_leave_the_key_server_path(kid: str) -> None:
    if valid_key_id(kid):
        url = InstallKeys(MemoryKeyFetcher(), KEYS_URL).url_for(kid)
        assert url.startswith(KEYS_URL + "/")
        assert not {"..", "."} & set(kid.split("/"))
        assert not set(kid) & set(".%\\?#:@ ")


def test_url_for_refuses_bad_kids() -> None:
    with pytest.raises(ValueError, match="key id"):
        InstallKeys(MemoryKeyFetcher(), KEYS_URL).url_for("../x")


def test_install_keys_satisfy_the_port() -> None:
    keys: InstallKeyProvider = InstallKeys(MemoryKeyFetcher(), KEYS_URL)
    assert keys is not None


# -- the cache ------------------------------------------------------------------------------------


async def test_a_key_is_fetched_once_and_cached_by_kid() -> None:
    fetcher = MemoryKeyFetcher({f"{KEYS_URL}/{KID}": PEM})
    keys = InstallKeys(fetcher, KEYS_URL + "/")
    assert await keys.public_key(KID) == PEM
    assert await keys.public_key(KID) == PEM
    assert fetcher.fetched == [f"{KEYS_URL}/{KID}"]


class SlowFetcher(MemoryKeyFetcher):
    """A fetcher that yields to the loop before answering, as a network call does."""

    async def fetch(self, url: str) -> str:
        await asyncio.sleep(0.01)
        return await super().fetch(url)


async def test_concurrent_requests_for_a_new_kid_fetch_once() -> None:
    fetcher = SlowFetcher({f"{KEYS_URL}/{KID}": PEM})
    keys = InstallKeys(fetcher, KEYS_URL)
    results = await asyncio.gather(*(keys.public_key(KID) for _ in range(5)))
    assert results == [PEM] * 5
    assert len(fetcher.fetched) == 1


async def test_the_cache_is_bounded() -> None:
    fetcher = MemoryKeyFetcher({f"{KEYS_URL}/k{i}": PEM for i in range(4)})
    keys = InstallKeys(fetcher, KEYS_URL, capacity=2)
    for kid in ("k0", "k1", "k2", "k1", "k0"):
        await keys.public_key(kid)
    # k0 was evicted by k2, k1 stayed (recently used), k0 came back.
    assert fetcher.fetched == [f"{KEYS_URL}/k{i}" for i in (0, 1, 2, 0)]


async def test_failures_are_not_cached() -> None:
    fetcher = MemoryKeyFetcher()
    keys = InstallKeys(fetcher, KEYS_URL)
    with pytest.raises(InstallKeyNotFound):
        await keys.public_key(KID)
    fetcher.documents[f"{KEYS_URL}/{KID}"] = PEM
    assert await keys.public_key(KID) == PEM


@pytest.mark.parametrize(
    "document",
    [
        "not a key",
        public_pem(rsa_key("weak", 1024)),
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ],
)
async def test_a_document_that_is_not_a_strong_rsa_key_is_refused(document: str) -> None:
    fetcher = MemoryKeyFetcher({f"{KEYS_URL}/{KID}": document})
    keys = InstallKeys(fetcher, KEYS_URL)
    with pytest.raises(InstallKeyUnavailable):
        await keys.public_key(KID)
    with pytest.raises(ValueError, match="key"):
        load_rsa_public_key(document)


def test_a_non_ascii_document_is_not_a_key() -> None:
    with pytest.raises(ValueError, match="PEM"):
        load_rsa_public_key("clé")


# -- the aiohttp fetcher --------------------------------------------------------------------------


async def _slow(_request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.Response(text=PEM)


def _key_server() -> web.Application:
    app = web.Application()

    async def key(_request: web.Request) -> web.Response:
        return web.Response(text=PEM, content_type="application/x-pem-file")

    async def error(_request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPFound("https://evil.example.com/key")

    async def huge(_request: web.Request) -> web.Response:
        return web.Response(text="A" * 100_000)

    async def binary(_request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xfe")

    app.router.add_get(f"/{KID}", key)
    app.router.add_get("/error", error)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/huge", huge)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/binary", binary)
    return app


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    running = TestServer(_key_server())
    await running.start_server()
    yield running
    await running.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_fetcher_gets_the_key(server: TestServer, session: aiohttp.ClientSession) -> None:
    keys = InstallKeys(AiohttpKeyFetcher(session), str(server.make_url("")))
    assert await keys.public_key(KID) == PEM


async def test_fetcher_maps_404(server: TestServer, session: aiohttp.ClientSession) -> None:
    with pytest.raises(InstallKeyNotFound):
        await AiohttpKeyFetcher(session).fetch(str(server.make_url("/unknown")))


@pytest.mark.parametrize("path", ["/error", "/redirect", "/huge", "/binary"])
async def test_fetcher_refuses_bad_answers(
    server: TestServer, session: aiohttp.ClientSession, path: str
) -> None:
    with pytest.raises(InstallKeyUnavailable):
        await AiohttpKeyFetcher(session).fetch(str(server.make_url(path)))


async def test_fetcher_times_out(server: TestServer, session: aiohttp.ClientSession) -> None:
    with pytest.raises(InstallKeyUnavailable):
        await AiohttpKeyFetcher(session, timeout=0.1).fetch(str(server.make_url("/slow")))


async def test_fetcher_survives_a_dead_server(session: aiohttp.ClientSession) -> None:
    async with TestServer(_key_server()) as running:
        url = str(running.make_url(f"/{KID}"))
    with pytest.raises(InstallKeyUnavailable):
        await AiohttpKeyFetcher(session, timeout=2).fetch(url)
