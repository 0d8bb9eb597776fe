"""Forge's key set: cached by kid, re-read on rotation but never flooded, 503 when down."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agiletoolbox.adapters.forge.errors import ForgeAuthError, ForgeAuthFailure
from agiletoolbox.adapters.forge.invocation import InvocationTokenVerifier
from agiletoolbox.adapters.forge.jwks import (
    MAX_AGE_SECONDS,
    MIN_REFETCH_SECONDS,
    AiohttpJwksFetcher,
    ForgeKeys,
    JwksUnavailable,
    parse_jwks,
)
from tests.forge.kit import (
    APP_ID,
    JWKS_URL,
    KID,
    NOW,
    MemoryJwksFetcher,
    Ticking,
    claims,
    jwk,
    jwks,
    rsa_key,
    sign,
)


@pytest.fixture
def clock() -> Ticking:
    return Ticking()


@pytest.fixture
def fetcher() -> MemoryJwksFetcher:
    return MemoryJwksFetcher({JWKS_URL: jwks(jwk(rsa_key("forge"), KID))})


@pytest.fixture
def keys(fetcher: MemoryJwksFetcher, clock: Ticking) -> ForgeKeys:
    return ForgeKeys(fetcher, JWKS_URL, clock=clock)


async def test_keys_are_fetched_once_and_cached(
    keys: ForgeKeys, fetcher: MemoryJwksFetcher
) -> None:
    for _ in range(5):
        assert await keys.key(KID) is not None
    assert fetcher.fetched == [JWKS_URL]


async def test_a_rotated_key_is_fetched_on_its_first_token(
    keys: ForgeKeys, fetcher: MemoryJwksFetcher, clock: Ticking
) -> None:
    await keys.key(KID)
    clock.now += MIN_REFETCH_SECONDS
    fetcher.documents[JWKS_URL] = jwks(jwk(rsa_key("forge"), KID), jwk(rsa_key("next"), "k2"))
    assert await keys.key("k2") is not None
    assert len(fetcher.fetched) == 2


async def test_a_flood_of_random_kids_costs_one_fetch_per_interval(
    keys: ForgeKeys, fetcher: MemoryJwksFetcher, clock: Ticking
) -> None:
    verifier = InvocationTokenVerifier(keys, APP_ID)
    await keys.key(KID)
    for _ in range(200):
        token = sign(claims(), rsa_key("attacker"), kid=secrets.token_hex(8))
        with pytest.raises(ForgeAuthError) as refused:
            await verifier.verify(token, now=NOW)
        assert refused.value.reason is ForgeAuthFailure.UNKNOWN_KEY
    assert len(fetcher.fetched) == 1, "the first fetch was under a second ago"
    clock.now += MIN_REFETCH_SECONDS
    for _ in range(50):
        assert await keys.key(secrets.token_hex(8)) is None
    assert len(fetcher.fetched) == 2
    assert await keys.key(KID) is not None, "the genuine key is still served from the cache"


async def test_the_key_set_down_at_start_is_unavailable_not_unknown(
    keys: ForgeKeys, fetcher: MemoryJwksFetcher, clock: Ticking
) -> None:
    fetcher.down = True
    with pytest.raises(JwksUnavailable):
        await keys.key(KID)
    with pytest.raises(JwksUnavailable):
        await keys.key(KID)  # still inside the interval: no fetch, still unavailable
    assert len(fetcher.fetched) == 1
    fetcher.down = False
    clock.now += MIN_REFETCH_SECONDS
    assert await keys.key(KID) is not None


async def test_known_keys_keep_verifying_while_the_set_is_down(
    keys: ForgeKeys, fetcher: MemoryJwksFetcher, clock: Ticking
) -> None:
    await keys.key(KID)
    fetcher.down = True
    clock.now += MAX_AGE_SECONDS
    assert await keys.key(KID) is not None
    with pytest.raises(JwksUnavailable):
        await keys.key("k-new")  # the set failed a moment ago: the kid may well exist


async def test_a_withdrawn_key_stops_within_the_maximum_age(
    keys: ForgeKeys, fetcher: MemoryJwksFetcher, clock: Ticking
) -> None:
    await keys.key(KID)
    fetcher.documents[JWKS_URL] = jwks(jwk(rsa_key("next"), "k2"))
    clock.now += MAX_AGE_SECONDS - 1
    assert await keys.key(KID) is not None
    clock.now += 1
    assert await keys.key(KID) is None


def test_only_rsa_signing_keys_of_2048_bits_are_kept() -> None:
    document = jwks(
        jwk(rsa_key("forge"), "good"),
        jwk(rsa_key("forge"), "enc", use="enc"),
        jwk(rsa_key("forge"), "rs512", alg="RS512"),
        jwk(rsa_key("small", 1024), "small"),
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "AQAB"},
        {"kty": "RSA", "n": "no-kid"},
        "not an object",
    )
    assert list(parse_jwks(document)) == ["good"]


@pytest.mark.parametrize("document", [b"", b"[]", b'{"keys": {}}', b"\xff", b"{"])
def test_a_document_that_is_no_key_set_is_unavailable(document: bytes) -> None:
    with pytest.raises(JwksUnavailable):
        parse_jwks(document)


async def serve(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> TestServer:
    app = web.Application()
    app.router.add_get("/{name}", handler)
    server = TestServer(app)
    await server.start_server()
    return server


async def test_the_http_fetcher_reads_the_set_and_refuses_the_rest() -> None:
    document = jwks(jwk(rsa_key("forge"), KID))

    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == "jwks.json":
            return web.Response(body=document, content_type="application/json")
        if name == "moved":
            raise web.HTTPFound("/jwks.json")
        if name == "huge":
            return web.Response(body=b" " * 100_000, content_type="application/json")
        raise web.HTTPInternalServerError

    server = await serve(handler)
    try:
        async with aiohttp.ClientSession() as session:
            fetcher = AiohttpJwksFetcher(session)
            url = str(server.make_url("/jwks.json"))
            assert await fetcher.fetch(url) == document
            for name in ("moved", "huge", "error"):
                with pytest.raises(JwksUnavailable):
                    await fetcher.fetch(str(server.make_url(f"/{name}")))
            await server.close()
            with pytest.raises(JwksUnavailable):
                await fetcher.fetch(url)
    finally:
        await server.close()
