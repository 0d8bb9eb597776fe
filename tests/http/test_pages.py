"""The room page's files and the shell's framing: where the bridge comes from, who may frame."""

from __future__ import annotations

import gzip

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from agiletoolbox.adapters.http.keys import WEB
from agiletoolbox.adapters.http.pages import ATLASSIAN_BRIDGE, MODULES, SESSION_MODULES, Framing
from agiletoolbox.adapters.http.web_settings import WebSettings

SITE = "http://127.0.0.1:8090"


def framing(query: str, *, production: bool = False) -> Framing:
    app = web.Application()
    app[WEB] = WebSettings(production=production)
    return Framing.of(make_mocked_request("GET", f"/room?{query}", app=app))


async def test_every_module_and_the_styles_are_served(client: TestClient) -> None:
    for name in (*(f"{module}.js" for module in (*MODULES, *SESSION_MODULES)), "room.js"):
        response = await client.get(f"/static/{name}")
        assert response.status == 200, name
        assert response.content_type == "text/javascript"
    for sheet in ("room.css", "sessions.css"):
        styles = await client.get(f"/static/{sheet}")
        assert styles.content_type == "text/css"
    icon = await client.get("/static/icon.svg")
    assert icon.content_type == "image/svg+xml"


async def test_assets_are_gzipped_and_revalidated(client: TestClient) -> None:
    plain = await client.get("/static/room.js", headers={"Accept-Encoding": "identity"})
    body = await plain.read()
    zipped = await client.get(
        "/static/room.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await zipped.read()) == body
    assert plain.headers["Cache-Control"] == "no-cache"
    again = await client.get("/static/room.js", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status == 304
    assert await again.read() == b""


@pytest.mark.parametrize("name", ["nope.js", "room.py", "Room.js", "..%2Fapp.py", "room.js.map"])
async def test_only_the_packaged_files_are_served(client: TestClient, name: str) -> None:
    response = await client.get(f"/static/{name}")
    assert response.status == 404


def test_production_always_loads_atlassians_bridge() -> None:
    chosen = framing(f"xdm_e={SITE}&cp=/sites/acme", production=True)
    assert chosen.bridge == ATLASSIAN_BRIDGE
    policy = chosen.policy(("https://*.atlassian.net",))
    assert "script-src 'self' https://connect-cdn.atl-paas.net;" in policy
    assert SITE not in policy


def test_elsewhere_the_framing_site_brings_its_bridge() -> None:
    chosen = framing(f"xdm_e={SITE}&cp=/sites/acme")
    assert chosen.bridge == f"{SITE}/sites/acme/atlassian-connect/all.js"
    policy = chosen.policy(("https://*.atlassian.net",))
    assert f"script-src 'self' {SITE};" in policy
    assert f"frame-ancestors 'self' https://*.atlassian.net {SITE}" in policy
    assert f"img-src 'self' data: https: {SITE};" in policy


@pytest.mark.parametrize(
    "query",
    [
        "",
        "xdm_e=javascript:alert(1)",
        "xdm_e=http://evil.example/path&cp=",
        "xdm_e=http://user:pw@evil.example",
        "xdm_e=http://a.example:99999",
        "xdm_e=http://a.example%20x",
        f"xdm_e={SITE}&cp=/sites/acme/../x",
        f"xdm_e={SITE}&cp=sites",
        f"xdm_e={SITE}&cp=/a%22b",
    ],
)
def test_a_doubtful_site_gets_no_say(query: str) -> None:
    assert framing(query).bridge == ATLASSIAN_BRIDGE
