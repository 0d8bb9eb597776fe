"""Forge end to end: lifecycle, a round under invocation tokens, the move from Connect, ticks.

The app runs as `serve` runs it (composition root, PostgreSQL, a real aiohttp server)
with Forge on; the simulator plays Forge: it signs invocation tokens with its key set,
delivers lifecycle events and ticks with retries, and serves the sites' REST API behind
the API gateway to the OAuth tokens it issued.
"""

from __future__ import annotations

import aiohttp
import pytest

from agiletoolbox.adapters.http.forge import ForgeSite
from agiletoolbox.domain.tenant import TenantState
from agiletoolbox.ports import UnitOfWorkFactory
from agiletoolbox.services.forge import SystemTokens
from agiletoolbox.simulator import ALICE, BOB, STORY_POINTS_FIELD, JiraSimulator
from tests.e2e.conftest import Deployment
from tests.e2e.flows import call, play_a_round

pytestmark = pytest.mark.postgres


async def world(deployment: Deployment) -> tuple[UnitOfWorkFactory, SystemTokens]:
    uow: UnitOfWorkFactory = await deployment.container.unit_of_work()  # type: ignore[misc]
    tokens: SystemTokens = await deployment.container.system_tokens()  # type: ignore[misc]
    return uow, tokens


async def test_a_round_over_forge_writes_the_estimate_with_forge_tokens(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    delivery = await jira.forge.install("acme", deployment.url)
    assert delivery.status == 204, delivery
    alice = jira.forge.headers("acme", user=ALICE, issue="DEMO-1")
    bob = jira.forge.headers("acme", user=BOB, issue="DEMO-1")
    api = f"{deployment.url}/api/rooms"
    async with aiohttp.ClientSession() as session:
        await play_a_round(session, api, alice, bob)
    assert jira.field_value("acme", "DEMO-1", STORY_POINTS_FIELD) == 5
    calls = jira.recorder.of_site("acme")
    assert calls, "Jira was called through the API gateway"
    assert {r.caller for r in calls} <= {"forge-app", "forge-user"}
    assert [r.caller for r in calls if r.method == "PUT"] == ["forge-user"]
    assert all(r.status < 400 for r in calls)


async def test_a_token_of_another_issue_is_refused_on_the_room(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.forge.install("acme", deployment.url)
    api = f"{deployment.url}/api/rooms"
    async with aiohttp.ClientSession() as session:
        alice = jira.forge.headers("acme", user=ALICE, issue="DEMO-1")
        status, room = await call(session, "POST", api, alice, json={"issueKey": "DEMO-1"})
        assert status == 201
        elsewhere = jira.forge.headers("acme", user=ALICE, issue="DEMO-2")
        status, body = await call(session, "POST", f"{api}/{room['id']}/reveal", elsewhere)
        assert status == 403, body
        status, _ = await call(session, "GET", f"{api}?issueKey=DEMO-1", elsewhere)
        assert status == 403


async def test_only_an_invalid_token_is_401(jira: JiraSimulator, deployment: Deployment) -> None:
    await jira.forge.install("acme", deployment.url)
    url = f"{deployment.url}/api/rooms?issueKey=DEMO-1"
    async with aiohttp.ClientSession() as session:
        never_installed = jira.forge.headers("globex", user=ALICE, issue="DEMO-1")
        status, body = await call(session, "GET", url, never_installed)
        assert status == 403, "a genuine token of an unknown installation is our refusal"
        assert body["error"]["message"] == "unknown_installation"
        genuine = jira.forge.headers("acme", user=ALICE, issue="DEMO-1")
        tampered = {**genuine, "Authorization": genuine["Authorization"][:-3] + "abc"}
        status, body = await call(session, "GET", url, tampered)
        assert status == 401
        assert body["error"]["code"] == "unauthenticated"
        trigger = {"Authorization": f"Bearer {jira.forge.invocation_token('acme')}"}
        assert (await call(session, "GET", url, trigger))[0] == 403, "no person, no API"
        for path in ("/forge/lifecycle", "/forge/tick", "/forge/uninstall"):
            status, body = await call(session, "POST", deployment.url + path, {})
            assert status == 401
            assert body["error"]["message"] == "missing_token"


async def test_a_connect_site_moving_to_forge_keeps_its_tenant_and_rooms(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("moving", deployment.url)
    api = f"{deployment.url}/api/rooms"
    connect_alice = {
        "Authorization": "JWT " + jira.context_token("moving", user=ALICE, issue="DEMO-1")
    }
    connect_bob = {"Authorization": "JWT " + jira.context_token("moving", user=BOB)}
    async with aiohttp.ClientSession() as session:
        status, room = await call(session, "POST", api, connect_alice, json={"issueKey": "DEMO-1"})
        assert status == 201, room
        base = f"{api}/{room['id']}"
        await call(session, "POST", f"{base}/join", connect_bob, json={})
        await call(session, "PUT", f"{base}/vote", connect_alice, json={"card": "8"})
        await call(session, "PUT", f"{base}/vote", connect_bob, json={"card": "13"})

        delivery = await jira.forge.install("moving", deployment.url)
        assert delivery.status == 204

        forge_alice = jira.forge.headers("moving", user=ALICE, issue="DEMO-1")
        status, view = await call(session, "GET", f"{api}?issueKey=DEMO-1", forge_alice)
        assert status == 200, view
        assert view["id"] == room["id"]
        assert {p["accountId"]: p["card"] for p in view["participants"]} == {
            ALICE: "8",
            BOB: None,
        }
        assert (await call(session, "POST", f"{base}/reveal", forge_alice))[0] == 200
        status, _ = await call(session, "GET", f"{api}?issueKey=DEMO-1", connect_alice)
        assert status == 200, "the Connect side still works for the same tenant"
    uow, _ = await world(deployment)
    async with uow() as work:
        keys = await work.tenants.all_keys()
        assert keys == [jira.site("moving").client_key] or [k.value for k in keys] == [
            jira.site("moving").client_key
        ]


async def test_lifecycle_events_repeated_make_one_tenant_and_one_link(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    first = await jira.forge.install("acme", deployment.url)
    again = await jira.forge.install("acme", deployment.url, nested=True)
    upgraded = await jira.forge.upgrade("acme", nested=False)
    assert [d.status for d in (first, again, upgraded)] == [204, 204, 204]
    uow, _ = await world(deployment)
    installation = jira.forge.installation_id("acme")
    async with uow() as work:
        keys = await work.tenants.all_keys()
        tenant = await work.tenants.find_by_installation(installation)
    assert [key.value for key in keys] == [installation]
    assert tenant is not None
    assert tenant.cloud_id == jira.forge.cloud_id("acme")
    assert tenant.version == 1, "the repeats changed nothing"


async def test_a_tick_refreshes_the_system_token_and_runs_the_due_jobs(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.forge.install("acme", deployment.url)
    uow, tokens = await world(deployment)
    installation = jira.forge.installation_id("acme")
    async with uow() as work:
        tenant = await work.tenants.find_by_installation(installation)
    assert tenant is not None
    before = await tokens.current(tenant.key)
    assert before is not None
    assert before.api_base_url == jira.forge.api_base_url("acme")

    jira.forge.oauth_seconds += 600  # the token Forge sends now outlives the kept one
    delivery = await jira.forge.tick("acme")
    assert delivery.status == 204
    after = await tokens.current(tenant.key)
    assert after is not None
    assert after.expires_at > before.expires_at
    assert after.token != before.token
    site: ForgeSite = await deployment.container.forge_site()  # type: ignore[misc]
    await site.jobs.wait()
    assert not site.jobs.kick(), "the jobs ran on this tick; the next ones wait"


async def test_pre_uninstall_stops_the_site_and_drops_its_token(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.forge.install("acme", deployment.url)
    alice = jira.forge.headers("acme", user=ALICE, issue="DEMO-1")
    url = f"{deployment.url}/api/rooms"
    async with aiohttp.ClientSession() as session:
        assert (await call(session, "POST", url, alice, json={"issueKey": "DEMO-1"}))[0] == 201
        assert (await jira.forge.uninstall("acme")).status == 204
        fresh = jira.forge.headers("acme", user=ALICE, issue="DEMO-1")
        status, body = await call(session, "GET", f"{url}?issueKey=DEMO-1", fresh)
        assert status == 403, body
    uow, tokens = await world(deployment)
    async with uow() as work:
        tenant = await work.tenants.find_by_installation(jira.forge.installation_id("acme"))
    assert tenant is not None
    assert tenant.state is TenantState.UNINSTALLED
    assert await tokens.current(tenant.key) is None


async def test_a_refused_delivery_is_retried_and_its_event_says_so(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    jira.forge.app_id = jira.forge.app_id[:-4] + "0000"  # tokens now name another app
    delivery = await jira.forge.install("acme", deployment.url)
    assert delivery.status == 401
    attempts = [d for d in jira.deliveries if d.event == "avi:forge:installed:app"]
    assert len(attempts) == 5
    assert attempts[-1].payload["retryContext"] == {
        "retryCount": 4,
        "retryReason": "INVALID_FORGE_INVOCATION_TOKEN",
        "retryData": None,
    }


async def test_a_site_known_only_through_forge_reports_its_accounts_with_the_system_token(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    from agiletoolbox.services.personal_data import PersonalDataService
    from agiletoolbox.simulator import TEST_CLOSED_ACCOUNT

    await jira.forge.install("acme", deployment.url)
    alice = jira.forge.headers("acme", user=ALICE, issue="DEMO-1")
    closed = jira.forge.headers("acme", user=TEST_CLOSED_ACCOUNT, issue="DEMO-1")
    api = f"{deployment.url}/api/rooms"
    async with aiohttp.ClientSession() as session:
        status, room = await call(session, "POST", api, alice, json={"issueKey": "DEMO-1"})
        assert status == 201, room
        assert (await call(session, "POST", f"{api}/{room['id']}/join", closed, json={}))[0] == 200

        reporting: PersonalDataService = await deployment.container.reporting()  # type: ignore[misc]
        summary = await reporting.report_due()

        assert summary.failed == ()
        assert (summary.tenants, summary.accounts, summary.erased) == (1, 2, 1)
        reported = [r for r in jira.recorder.requests if r.path.endswith("/report-accounts/")]
        assert [r.caller for r in reported] == ["app"]
        status, after = await call(session, "GET", f"{api}?issueKey=DEMO-1", alice)
        assert [p["accountId"] for p in after["participants"]] == [ALICE]
