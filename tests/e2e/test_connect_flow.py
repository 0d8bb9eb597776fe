"""Install, open the room page, play a round and write the estimate: all through Jira."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, STORY_POINTS_FIELD, JiraSimulator
from tests.e2e import flows
from tests.e2e.conftest import Deployment
from tests.e2e.flows import play_a_round

pytestmark = pytest.mark.postgres


def jwt(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


async def call(
    session: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any
) -> tuple[int, Any]:
    return await flows.call(session, method, url, jwt(token), **kwargs)


async def test_a_round_from_install_to_estimate(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    bob = jira.context_token("acme", user=BOB, issue="DEMO-1")
    api = f"{deployment.url}/api/rooms"
    async with aiohttp.ClientSession() as session:
        page = await session.get(jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-1"))
        assert page.status == 200
        assert "DEMO-1" in await page.text()
        await play_a_round(session, api, jwt(alice), jwt(bob))
    assert jira.field_value("acme", "DEMO-1", STORY_POINTS_FIELD) == 5
    app_calls = [r for r in jira.recorder.requests if r.caller == "app"]
    assert app_calls
    assert all(r.jwt_valid for r in app_calls)
    assert jira.recorder.names_served_to_app() == []


async def test_tokens_that_are_not_context_tokens_are_refused(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    page_url = jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-1")
    page_token = page_url.split("jwt=")[1].split("&")[0]
    async with aiohttp.ClientSession() as session:
        api = f"{deployment.url}/api/rooms?issueKey=DEMO-1"
        status, body = await call(session, "GET", api, page_token)
        assert status == 401
        assert body["error"]["message"] == "context_token_required"
        tampered = jira.context_token("acme", user=ALICE, issue="DEMO-1")[:-2] + "xx"
        assert (await call(session, "GET", api, tampered))[0] == 401
        other_issue = jira.context_token("acme", user=ALICE, issue="DEMO-2")
        assert (await call(session, "GET", api, other_issue))[0] == 403


async def test_an_uninstalled_site_is_refused_at_once(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    async with aiohttp.ClientSession() as session:
        api = f"{deployment.url}/api/rooms"
        assert (await call(session, "POST", api, alice, json={"issueKey": "DEMO-1"}))[0] == 201
        await jira.uninstall("acme")
        status, body = await call(session, "GET", f"{api}?issueKey=DEMO-1", alice)
        assert status == 403
        assert body["error"]["code"] == "forbidden"
        await jira.install("acme", deployment.url)
        fresh = jira.context_token("acme", user=ALICE, issue="DEMO-1")
        status, _ = await call(session, "GET", f"{api}?issueKey=DEMO-1", fresh)
        assert status == 200, "a re-install inside the window restores the rooms"


async def test_lifecycle_retries_have_one_effect(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    await jira.redeliver("acme", "installed", times=3)
    await jira.redeliver("acme", "enabled", times=3)
    assert all(d.status == 204 for d in jira.deliveries), jira.deliveries


async def test_disabled_and_uninstalled_racing_end_uninstalled(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    await jira.uninstall("acme", race=True)
    await jira.enable("acme")
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    async with aiohttp.ClientSession() as session:
        status, _ = await call(session, "GET", f"{deployment.url}/api/rooms?issueKey=DEMO-1", alice)
    assert status == 403, "a late enabled never revives an uninstalled site"


async def test_the_room_page_needs_a_genuine_url_token(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    url = jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-1")
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as page:
            assert page.status == 200
            assert page.headers["Content-Type"].startswith("text/html")
            assert "frame-ancestors" in page.headers["Content-Security-Policy"]
        async with session.get(url.replace("issueKey=DEMO-1", "issueKey=DEMO-2")) as moved:
            assert moved.status == 401, "the URL token's qsh binds it to its URL"
        context = jira.context_token("acme", user=ALICE, issue="DEMO-1")
        async with session.get(f"{deployment.url}/room?issueKey=DEMO-1&jwt={context}") as r:
            assert r.status == 401, "a context token does not open a page"
        await jira.disable("acme")
        async with session.get(
            jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-1")
        ) as r:
            assert r.status == 403, "a disabled site is refused on every route"


async def test_a_token_in_the_url_opens_the_socket_only_and_long_lived_tokens_are_refused(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    context = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    api = f"{deployment.url}/api/rooms"
    async with aiohttp.ClientSession() as session:
        header = {"Authorization": f"JWT {context}"}
        async with session.post(api, json={"issueKey": "DEMO-1"}, headers=header) as r:
            assert r.status == 201
            room = await r.json()
        # In the URL, a token ends up in logs and histories: REST routes refuse it.
        async with session.get(f"{api}?issueKey=DEMO-1&jwt={context}") as r:
            assert r.status == 401
            assert "Authorization header" in (await r.json())["error"]["message"]
        async with session.get(f"{api}?issueKey=DEMO-1&jwt={context}", headers=header) as r:
            assert r.status == 401, "a token in the URL is refused even beside a header"
        # The live socket, which cannot carry a header from a browser, takes it.
        live = f"{api}/{room['id']}/live?jwt={context}"
        async with session.ws_connect(live) as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "room"
        # Jira's context tokens live 15 minutes; one signed to last ten years is refused.
        decade = jira.context_token("acme", user=ALICE, issue="DEMO-1", lifetime=10 * 365 * 86400)
        async with session.get(
            f"{api}?issueKey=DEMO-1", headers={"Authorization": f"JWT {decade}"}
        ) as r:
            assert r.status == 401


async def test_a_project_pages_token_reaches_its_projects_sessions_only(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    """The project page's context names the project alone (no issue): its token lists and
    opens the project's refinement sessions, and an issue's token of the same project
    reads them; another project's token reaches none of them."""
    await jira.install("acme", deployment.url)
    api = f"{deployment.url}/api/sessions"
    page = jira.context_token("acme", user=ALICE, project="DEMO")
    issue = jira.context_token("acme", user=BOB, issue="DEMO-3")
    elsewhere = jira.context_token("acme", user=ALICE, project="OPS")
    async with aiohttp.ClientSession() as session:
        status, listed = await call(session, "GET", f"{api}?projectKey=DEMO", page)
        assert (status, listed) == (200, {"sessions": []})
        body = {"projectKey": "DEMO", "issueKeys": ["DEMO-15", "DEMO-16"], "mode": "live"}
        status, opened = await call(session, "POST", api, page, json=body)
        assert status == 201, opened
        status, read = await call(session, "GET", f"{api}/{opened['id']}", issue)
        assert (status, read["issues"][0]["issueKey"]) == (200, "DEMO-15")
        status, _ = await call(session, "GET", f"{api}/{opened['id']}", elsewhere)
        assert status == 403
        status, _ = await call(session, "GET", f"{api}?projectKey=DEMO", elsewhere)
        assert status == 403
        status, moved = await call(session, "POST", f"{api}/{opened['id']}/next", page)
        assert (status, moved["current"]) == (200, "DEMO-15")
        assert moved["room"]["issueKey"] == "DEMO-15", "the session opened the issue's room"
