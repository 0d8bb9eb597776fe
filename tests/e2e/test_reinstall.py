"""Uninstall and re-install on PostgreSQL: inside the retention window the site comes back
with its rooms; past it the purge leaves nothing, and an install starts afresh."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.services.privacy import PrivacyService
from agiletoolbox.simulator import ALICE, BOB, JiraSimulator
from tests.e2e.conftest import Deployment
from tests.integration.database import every_row_as_text

pytestmark = pytest.mark.postgres


async def call(method: str, url: str, token: str, **kwargs: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers={"Authorization": f"JWT {token}"}, **kwargs) as r,
    ):
        return r.status, (await r.json() if r.status != 204 else None)


async def played_room(jira: JiraSimulator, url: str) -> dict[str, Any]:
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    bob = jira.context_token("acme", user=BOB, issue="DEMO-1")
    status, room = await call("POST", f"{url}/api/rooms", alice, json={"issueKey": "DEMO-1"})
    assert status == 201
    await call("POST", f"{url}/api/rooms/{room['id']}/join", bob, json={})
    await call("PUT", f"{url}/api/rooms/{room['id']}/vote", bob, json={"card": "8"})
    status, view = await call("GET", f"{url}/api/rooms?issueKey=DEMO-1", alice)
    assert status == 200
    return dict(view)


async def view(jira: JiraSimulator, url: str) -> tuple[int, Any]:
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    return await call("GET", f"{url}/api/rooms?issueKey=DEMO-1", alice)


async def test_a_reinstall_inside_the_window_restores_the_rooms(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    before = await played_room(jira, deployment.url)
    await jira.uninstall("acme", race=True)
    assert (await view(jira, deployment.url))[0] in (401, 403)

    await jira.install("acme", deployment.url, rotate_secret=True)

    status, after = await view(jira, deployment.url)
    assert status == 200, after
    assert after == before


async def test_past_the_window_the_purge_leaves_nothing_and_an_install_starts_afresh(
    jira: JiraSimulator, deployment: Deployment, database_url: str
) -> None:
    await jira.install("acme", deployment.url)
    before = await played_room(jira, deployment.url)
    await jira.uninstall("acme")
    privacy: PrivacyService = await deployment.container.privacy()  # type: ignore[misc]
    window = timedelta(days=RetentionPolicy().uninstalled_days)
    clock = deployment.container.clock()

    inside = await privacy.purge(clock.now() + window - timedelta(hours=1))
    assert inside.tenants == 0
    report = await privacy.purge(clock.now() + window + timedelta(hours=1))

    assert report.tenants == 1
    site = jira.site("acme")
    secret = site.installation().shared_secret
    needles = (site.client_key, before["id"], ALICE, BOB, secret)
    assert [r for r in await every_row_as_text(database_url) if any(n in r for n in needles)] == []
    await jira.install("acme", deployment.url)
    assert (await view(jira, deployment.url))[0] == 204
