"""The room API over a real server: every route, every error status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from agiletoolbox.adapters.http.web_settings import WebSettings
from tests.http.kit import TENANT_A, TENANT_B, Backend, auth, scoped
from tests.unit.roomkit import ANA, BEN, CAI, ISSUE, STORY_POINTS

ANA_A = auth(TENANT_A, ANA)
BEN_A = auth(TENANT_A, BEN)
CAI_A = auth(TENANT_A, CAI)


async def create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/rooms", json={"issueKey": "DEMO-1", **body}, headers=scoped(ANA_A, "DEMO-1")
    )
    assert response.status == 201, await response.text()
    room: dict[str, Any] = await response.json()
    return room


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error


async def test_create_and_find(client: TestClient) -> None:
    room = await create(client, deck="t-shirt", questionCard=False, fieldId="customfield_10016")
    assert room["issueKey"] == "DEMO-1"
    assert room["owner"] == ANA.value
    assert room["you"] == ANA.value
    assert [c["label"] for c in room["deck"]["cards"]] == ["XS", "S", "M", "L", "XL", "XXL"]
    assert room["fieldId"] == "customfield_10016"
    assert room["state"] == "voting"
    assert room["version"] == 1
    found = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=BEN_A)
    assert (await found.json())["id"] == room["id"]
    # An issue without a room is a normal state: no content, not an error.
    missing = await client.get("/api/rooms", params={"issueKey": "DEMO-2"}, headers=BEN_A)
    assert (missing.status, await missing.read()) == (204, b"")
    again = await client.post(
        "/api/rooms", json={"issueKey": "DEMO-1"}, headers=scoped(BEN_A, "DEMO-1")
    )
    assert (await error_of(again, 409))["code"] == "conflict"


async def test_a_whole_round_over_rest(client: TestClient, backend: Backend) -> None:
    room = await create(client, fieldId=str(STORY_POINTS))
    base = f"/api/rooms/{room['id']}"
    assert (await client.post(f"{base}/join", json={"role": "voter"}, headers=BEN_A)).status == 200
    joined = await client.post(f"{base}/join", json={"role": "observer"}, headers=CAI_A)
    assert [p["role"] for p in (await joined.json())["participants"]] == [
        "voter",
        "voter",
        "observer",
    ]
    await client.put(f"{base}/vote", json={"card": "3"}, headers=ANA_A)
    seen_by_ben = await (await client.put(f"{base}/vote", json={"card": "5"}, headers=BEN_A)).json()
    cards = {p["accountId"]: (p["card"], p["voted"]) for p in seen_by_ben["participants"]}
    assert cards == {ANA.value: (None, True), BEN.value: ("5", True), CAI.value: (None, False)}
    forbidden = await client.post(f"{base}/reveal", headers=BEN_A)
    assert (await error_of(forbidden, 403))["code"] == "forbidden"
    revealed = await (await client.post(f"{base}/reveal", headers=ANA_A)).json()
    assert revealed["state"] == "revealed"
    assert revealed["results"]["mean"] == 4.0
    assert revealed["results"]["closestCard"] == "5"
    estimated = await client.post(f"{base}/estimate", json={"value": 5}, headers=ANA_A)
    body = await estimated.json()
    assert body["state"] == "estimated"
    assert body["estimate"]["written"] is True
    assert body["estimate"]["value"] == "5"
    assert backend.jira.value(TENANT_A, ISSUE, STORY_POINTS) == 5
    reset = await (await client.post(f"{base}/reset", headers=ANA_A)).json()
    assert reset["round"] == 2
    assert reset["history"][0]["estimate"] == "5"
    assert reset["history"][0]["votes"] == [
        {"accountId": ANA.value, "card": "3"},
        {"accountId": BEN.value, "card": "5"},
    ]
    left = await (await client.post(f"{base}/leave", headers=CAI_A)).json()
    assert CAI.value not in [p["accountId"] for p in left["participants"]]


async def test_withdraw_configure_take_control_remove(client: TestClient) -> None:
    room = await create(client)
    base = f"/api/rooms/{room['id']}"
    await client.post(f"{base}/join", json={}, headers=BEN_A)
    await client.put(f"{base}/vote", json={"card": "8"}, headers=BEN_A)
    withdrawn = await (await client.delete(f"{base}/vote", headers=BEN_A)).json()
    assert not next(p for p in withdrawn["participants"] if p["accountId"] == BEN.value)["voted"]
    configured = await client.patch(
        base,
        json={"autoReveal": True, "deck": {"cards": [{"label": "1", "value": 1}]}},
        headers=ANA_A,
    )
    body = await configured.json()
    assert body["autoReveal"] is True
    assert body["deck"]["name"] == "custom"
    assert body["questionCard"] is True
    # Ana has no live socket, so she is not in the room (REST calls never make anyone
    # look online): Ben may take control.
    assert not any(p["online"] for p in body["participants"])
    taken = await client.post(f"{base}/take-control", headers=BEN_A)
    assert (await taken.json())["owner"] == BEN.value
    removed = await client.delete(base, headers=BEN_A)
    assert (await removed.json()) == {"removed": room["id"]}
    await error_of(await client.get(base + "/ticket", headers=ANA_A), 405)
    await error_of(await client.post(base + "/ticket", headers=ANA_A), 404)


async def test_bodies_are_checked(client: TestClient) -> None:
    bad_json = await client.post(
        "/api/rooms", data=b"{", headers={**ANA_A, "Content-Type": "application/json"}
    )
    assert (await error_of(bad_json, 400))["code"] == "bad_request"
    not_json = await client.post(
        "/api/rooms", data=b"x", headers={**ANA_A, "Content-Type": "text/plain"}
    )
    await error_of(not_json, 415)
    wrong = await client.post(
        "/api/rooms",
        json={"issueKey": "DEMO-1", "deck": 7, "x": 1},
        headers=scoped(ANA_A, "DEMO-1"),
    )
    error = await error_of(wrong, 422)
    assert error["details"] == [
        "a deck is a standard deck's name or an object with name and cards @ body.deck",
        "unknown fields (x) @ body",
    ]
    bad_key = await client.post("/api/rooms", json={"issueKey": "demo-1"}, headers=ANA_A)
    await error_of(bad_key, 422)
    bad_deck = await client.post(
        "/api/rooms", json={"issueKey": "DEMO-1", "deck": "tarot"}, headers=scoped(ANA_A, "DEMO-1")
    )
    assert "unknown deck" in (await error_of(bad_deck, 422))["message"]
    huge = await client.post(
        "/api/rooms",
        data=b"{" + b" " * 70_000 + b"}",
        headers={**ANA_A, "Content-Type": "application/json"},
    )
    await error_of(huge, 413)
    assert await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=ANA_A)


async def test_card_not_in_deck_is_422(client: TestClient) -> None:
    room = await create(client)
    response = await client.put(f"/api/rooms/{room['id']}/vote", json={"card": "4"}, headers=ANA_A)
    assert (await error_of(response, 422))["code"] == "invalid_value"


async def test_authentication_is_required(client: TestClient) -> None:
    await error_of(await client.get("/api/rooms", params={"issueKey": "DEMO-1"}), 401)
    bad = await client.get(
        "/api/rooms", params={"issueKey": "DEMO-1"}, headers={"Authorization": "Test bad x"}
    )
    assert (await error_of(bad, 401))["message"] == "invalid token"


async def test_tenants_are_isolated(client: TestClient) -> None:
    room = await create(client)
    other = auth(TENANT_B, ANA)
    await error_of(await client.post(f"/api/rooms/{room['id']}/reveal", headers=other), 404)
    found = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=other)
    assert found.status == 204  # the other site has no room for its DEMO-1


async def test_unknown_tenant_is_refused(client: TestClient) -> None:
    response = await client.get(
        "/api/rooms", params={"issueKey": "DEMO-1"}, headers=auth(TENANT_A.__class__("nobody"), ANA)
    )
    assert (await error_of(response, 403))["code"] == "access_refused"


async def test_token_for_another_issue_is_refused(client: TestClient) -> None:
    from agiletoolbox.domain.ids import IssueKey

    room = await create(client)
    scoped = auth(TENANT_A, BEN, IssueKey("DEMO-9"))
    await error_of(await client.post(f"/api/rooms/{room['id']}/join", json={}, headers=scoped), 403)
    await error_of(
        await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=scoped), 403
    )


async def test_jira_failures_are_explained(client: TestClient, backend: Backend) -> None:
    room = await create(client, fieldId=str(STORY_POINTS))
    base = f"/api/rooms/{room['id']}"
    await client.put(f"{base}/vote", json={"card": "5"}, headers=ANA_A)
    await client.post(f"{base}/reveal", headers=ANA_A)
    backend.jira.fail_writes = 1
    unavailable = await client.post(f"{base}/estimate", json={"value": "5"}, headers=ANA_A)
    assert (await error_of(unavailable, 503))["code"] == "jira_unavailable"
    backend.jira.issues[(TENANT_A, ISSUE)].fields.clear()
    off_screen = await client.post(f"{base}/estimate", json={"value": "5"}, headers=ANA_A)
    error = await error_of(off_screen, 409)
    assert error["code"] == "field_not_on_screen"
    assert "customfield_10016" in error["message"]


async def test_health_and_headers(client: TestClient, backend: Backend) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    assert (await client.get("/readyz")).status == 200
    backend.ready = False
    assert (await client.get("/readyz")).status == 503
    metrics = await client.get("/metrics")
    assert "agiletoolbox_open_sockets" in await metrics.text()
    response = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=ANA_A)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers
    assert (await client.get("/nowhere")).status == 404
    # No answer names the server software and its version (an attacker's first question).
    for answer in (response, metrics, await client.get("/nowhere")):
        assert "Server" not in answer.headers


METRICS_TOKEN = "m" * 40
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}
WITH_TOKEN = WebSettings(metrics_token=METRICS_TOKEN)


@pytest.mark.parametrize(
    ("settings", "headers", "status"),
    [
        (WebSettings(production=True), {}, 404),
        (WITH_TOKEN, {}, 401),
        (WITH_TOKEN, {"Authorization": "Bearer wrong"}, 401),
        (WITH_TOKEN, BEARER, 200),
        (WebSettings(production=True, metrics_token=METRICS_TOKEN), BEARER, 200),
    ],
)  # fmt: skip
async def test_metrics_need_their_token_and_are_off_in_production_without_one(
    backend: Backend,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    settings: WebSettings,
    headers: dict[str, str],
    status: int,
) -> None:
    client = await aiohttp_client(backend.app(settings))
    answer = await client.get("/metrics", headers=headers)
    assert answer.status == status
    if status == 200:
        assert "agiletoolbox_open_sockets" in await answer.text()
    else:
        assert set((await answer.json())["error"]) >= {"code", "message"}


async def test_unexpected_errors_show_an_incident_id_only(
    client: TestClient, backend: Backend
) -> None:
    async def explode(*_args: object) -> None:
        raise RuntimeError(f"secret-token-abc leaked? {ANA.value} {'z' * 32}")

    backend.rooms.find = explode  # type: ignore[method-assign]
    response = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=ANA_A)
    error = await error_of(response, 500)
    assert "secret-token-abc" not in await response.text()
    (report,) = backend.store.error_reports
    assert error["incident"] == report.id
    assert report.code == "RuntimeError"
    assert report.tenant == TENANT_A
    assert "explode" in report.where, "the report says where it happened"
    assert ANA.value not in report.where + report.message, "account ids are scrubbed"
    assert "z" * 32 not in report.where + report.message


async def test_saved_defaults(client: TestClient) -> None:
    await create(client, deck="linear", saveAsDefault=True, issueTypeId="10001")
    got = await client.get(
        "/api/defaults", params={"issueKey": "DEMO-5", "issueTypeId": "10001"}, headers=ANA_A
    )
    assert (await got.json())["defaults"]["deck"]["name"] == "linear"
    none = await client.get(
        "/api/defaults", params={"issueKey": "DEMO-5", "issueTypeId": "3"}, headers=ANA_A
    )
    assert (await none.json()) == {"defaults": None}
    bad = await client.get("/api/defaults", params={"issueKey": "DEMO-5"}, headers=ANA_A)
    await error_of(bad, 422)
    missing = await client.post(
        "/api/rooms",
        json={"issueKey": "DEMO-2", "saveAsDefault": True},
        headers=scoped(ANA_A, "DEMO-2"),
    )
    await error_of(missing, 422)


async def test_a_room_is_opened_only_from_its_issue_and_only_for_an_issue_jira_shows(
    client: TestClient, backend: Backend
) -> None:
    """A context token without an issue, or for an issue Jira does not show the app,
    opens nothing (one such token once opened 2,000 rooms in 6 s)."""
    body = {"issueKey": "DEMO-1"}
    no_issue = await client.post("/api/rooms", json=body, headers=ANA_A)
    assert "names no issue" in (await error_of(no_issue, 403))["message"]
    other = await client.post("/api/rooms", json=body, headers=scoped(ANA_A, "DEMO-2"))
    await error_of(other, 403)
    for number in range(100, 110):
        key = f"DEMO-{number}"
        made_up = await client.post(
            "/api/rooms", json={"issueKey": key}, headers=scoped(ANA_A, key)
        )
        assert (await error_of(made_up, 404))["code"] == "jira_issue_not_found"
    assert backend.store.rooms == {}, "nothing was stored"
    opened = await client.post("/api/rooms", json=body, headers=scoped(ANA_A, "DEMO-1"))
    assert opened.status == 201
