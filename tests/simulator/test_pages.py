"""Iframe URLs and context tokens verify with the product's `ConnectJwtVerifier`."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, JiraSimulator
from tests.simulator.appkit import ConnectApp


@pytest.fixture
async def installed(jira: JiraSimulator, connect_app: ConnectApp) -> ConnectApp:
    await jira.install("acme", connect_app.base_url)
    return connect_app


async def test_iframe_url_carries_connect_parameters_and_the_issue(
    jira: JiraSimulator, installed: ConnectApp
) -> None:
    url = jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-2")

    parts = urlsplit(url)
    params = parse_qs(parts.query, keep_blank_values=True)
    site = jira.site("acme")
    assert url.startswith(installed.base_url + "/room?")
    assert params["view"] == ["glance"]
    assert params["issueKey"] == ["DEMO-2"]
    assert params["issueId"] == ["10102"]
    assert params["projectKey"] == ["DEMO"]
    assert params["projectId"] == ["10000"]
    assert params["issueTypeId"] == ["10001"]
    assert params["xdm_e"] == [jira.origin]
    assert params["xdm_c"] == ["channel-agile-toolbox-test__room-glance"]
    assert params["cp"] == [site.base_path]
    assert params["lic"] == ["none"]
    assert params["cv"]
    assert params["tz"] == ["Europe/Copenhagen"]
    assert params["loc"] == ["da-DK"]
    assert list(params)[-1] == "jwt"


async def test_iframe_url_verifies_as_a_page(
    jira: JiraSimulator, installed: ConnectApp, http: aiohttp.ClientSession
) -> None:
    url = jira.iframe_url("acme", "room-dialog", user=BOB, issue="DEMO-3")

    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        caller = await response.json()

    assert caller["clientKey"] == jira.site("acme").client_key
    assert caller["accountId"] == BOB


async def test_iframe_url_is_bound_to_its_query(
    jira: JiraSimulator, installed: ConnectApp, http: aiohttp.ClientSession
) -> None:
    url = jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-2")

    async with http.get(url.replace("issueKey=DEMO-2", "issueKey=DEMO-3")) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "qsh_mismatch"


async def test_context_token_verifies_on_the_api_with_the_issue(
    jira: JiraSimulator, installed: ConnectApp, http: aiohttp.ClientSession
) -> None:
    token = jira.context_token("acme", user=ALICE, issue="DEMO-4")

    async with http.get(
        installed.base_url + "/api/whoami", headers={"Authorization": f"JWT {token}"}
    ) as response:
        assert response.status == 200, await response.text()
        caller = await response.json()

    assert caller == {
        "clientKey": jira.site("acme").client_key,
        "accountId": ALICE,
        "issueKey": "DEMO-4",
        "issueId": "10104",
        "issueTypeId": "10001",
        "projectKey": "DEMO",
    }


async def test_each_token_is_refused_on_the_other_route_class(
    jira: JiraSimulator, installed: ConnectApp, http: aiohttp.ClientSession
) -> None:
    token = jira.context_token("acme", user=ALICE, issue="DEMO-4")
    page_url = jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-4")
    page_token = parse_qs(urlsplit(page_url).query)["jwt"][0]

    async with http.get(installed.base_url + f"/room?jwt={token}") as response:
        assert (await response.json())["error"] == "context_token_refused"
    async with http.get(
        installed.base_url + "/api/whoami", headers={"Authorization": f"JWT {page_token}"}
    ) as response:
        assert (await response.json())["error"] == "context_token_required"


async def test_pages_follow_the_regional_base_url(
    jira: JiraSimulator, connect_app: ConnectApp, http: aiohttp.ClientSession
) -> None:
    connect_app.regional = True
    jira.add_site("eurosite", realm="EU")
    await jira.install("eurosite", connect_app.base_url)

    url = jira.iframe_url("eurosite", "room-glance", user=ALICE, issue="DEMO-1")

    assert url.startswith(connect_app.base_url + "/eu/room?")
    async with http.get(url) as response:
        assert response.status == 200, await response.text()


def test_a_module_without_its_own_url_cannot_be_opened(jira: JiraSimulator) -> None:
    jira.register_installation(
        "acme",
        "some-app",
        descriptor={
            "key": "some-app",
            "modules": {"webItems": [{"key": "open", "target": {"type": "dialogmodule"}}]},
        },
    )

    with pytest.raises(LookupError, match="no URL"):
        jira.iframe_url("acme", "open", user=ALICE, issue="DEMO-1")
    with pytest.raises(LookupError, match="no module"):
        jira.iframe_url("acme", "missing", user=ALICE, issue="DEMO-1")
