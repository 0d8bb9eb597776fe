"""The issue view that hosts the app: the page, its sign-in, and the bridge's endpoints."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, STORY_POINTS_FIELD, JiraSimulator
from agiletoolbox.simulator.cloud import SESSION_HEADER
from agiletoolbox.simulator.tokens import decode
from tests.simulator.appkit import ConnectApp


@pytest.fixture
async def installed(jira: JiraSimulator, connect_app: ConnectApp) -> ConnectApp:
    await jira.install("acme", connect_app.base_url)
    return connect_app


def page_config(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="jira-config">(.*?)</script>', html)
    assert found is not None
    loaded: dict[str, object] = json.loads(found.group(1))
    return loaded


def signed_in(jira: JiraSimulator, account: str) -> dict[str, str]:
    return {SESSION_HEADER: jira.cloud.browser_session("acme", account)}


async def test_the_issue_view_hosts_the_app_for_the_person_named(
    jira: JiraSimulator, installed: ConnectApp, http: aiohttp.ClientSession
) -> None:
    url = f"{jira.site('acme').base_url}/browse/DEMO-2?user={BOB}"
    async with http.get(url) as response:
        assert response.status == 200
        html = await response.text()

    assert "Export the sprint report as CSV" in html
    assert 'data-module="room-glance"' in html
    assert '<option value="' + BOB + '" selected>Bob Brennan</option>' in html
    assert '<dd data-field="customfield_10016">3</dd>' in html
    config = page_config(html)
    assert config["user"] == BOB
    assert config["issue"] == {
        "key": "DEMO-2",
        "id": "10102",
        "typeId": "10001",
        "projectKey": "DEMO",
        "projectId": "10000",
    }


async def test_without_a_person_the_first_teammate_is_signed_in(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{jira.site('acme').base_url}/") as response:
        assert response.url.path.endswith("/browse/DEMO-1")
        html = await response.text()
    config = page_config(html)
    assert config["user"] == ALICE
    assert config["app"] is None
    assert "The app is not installed on this site." in html


@pytest.mark.parametrize("path", ["/browse/DEMO-99", "/browse/DEMO-1?user=nobody"])
async def test_unknown_issues_and_people_are_not_found(
    jira: JiraSimulator, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.get(jira.site("acme").base_url + path) as response:
        assert response.status == 404


async def test_the_bridge_scripts_are_served(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    for url in (
        jira.site("acme").base_url + "/atlassian-connect/all.js",
        jira.origin + "/jira-host/host.js",
        jira.origin + "/jira-host/issue.css",
    ):
        async with http.get(url) as response:
            assert response.status == 200, url
            assert len(await response.read()) > 1000
    async with http.get(jira.origin + "/jira-host/secrets.txt") as response:
        assert response.status == 404


async def test_the_page_gets_a_context_token_for_its_person_and_issue(
    jira: JiraSimulator, installed: ConnectApp, http: aiohttp.ClientSession
) -> None:
    url = jira.site("acme").base_url + "/bridge/token"
    async with http.post(url, json={"issue": "DEMO-3"}, headers=signed_in(jira, BOB)) as response:
        assert response.status == 200
        token = (await response.json())["token"]
    claims = decode(token).claims
    assert claims["sub"] == BOB
    assert claims["qsh"] == "context-qsh"
    assert claims["context"]["jira"]["issue"]["key"] == "DEMO-3"

    async with http.post(url, json={"issue": "DEMO-3"}) as refused:
        assert refused.status == 401
    forged = {SESSION_HEADER: f"{ALICE}.{'0' * 64}"}
    async with http.post(url, json={"issue": "DEMO-3"}, headers=forged) as refused:
        assert refused.status == 401
    async with http.post(url, data=b"[", headers=signed_in(jira, BOB)) as bad:
        assert bad.status == 400


async def test_the_page_gets_signed_module_urls(
    jira: JiraSimulator, installed: ConnectApp, http: aiohttp.ClientSession
) -> None:
    url = jira.site("acme").base_url + "/bridge/iframe"
    body = {"module": "room-dialog", "issue": "DEMO-1"}
    async with http.post(url, json=body, headers=signed_in(jira, ALICE)) as response:
        assert response.status == 200
        module_url = (await response.json())["url"]
    query = parse_qs(urlsplit(module_url).query)
    assert query["issueKey"] == ["DEMO-1"]
    assert query["view"] == ["dialog"]
    assert decode(query["jwt"][0]).claims["sub"] == ALICE

    async with http.post(url, json={"module": "nope"}, headers=signed_in(jira, ALICE)) as missing:
        assert missing.status == 404
    async with http.post(url, json={}, headers=signed_in(jira, ALICE)) as unnamed:
        assert unnamed.status == 400


async def test_the_bridge_needs_the_app_installed(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    url = jira.site("acme").base_url + "/bridge/token"
    async with http.post(url, json={}, headers=signed_in(jira, ALICE)) as response:
        assert response.status == 404


async def test_the_pages_session_reads_jira_as_the_person(
    jira: JiraSimulator, installed: ConnectApp, http: aiohttp.ClientSession
) -> None:
    base = jira.site("acme").base_url + "/rest/api/3/issue/DEMO-1"
    async with http.get(base + "/editmeta", headers=signed_in(jira, ALICE)) as response:
        assert response.status == 200
        assert STORY_POINTS_FIELD in (await response.json())["fields"]
    record = jira.recorder.requests[-1]
    assert (record.caller, record.path) == ("browser", "/rest/api/3/issue/DEMO-1/editmeta")

    # Writing stays the app's business: a person's session may not edit through this API.
    body = {"fields": {STORY_POINTS_FIELD: 5}}
    async with http.put(base, json=body, headers=signed_in(jira, ALICE)) as refused:
        assert refused.status == 401
