"""Nobody outside tenant A's room reaches it: not over REST, a ticket or the socket.

Hypothesis plays the strangers: tenant B's people (some with the account ids of A's
people), tenants nobody installed, and A's own people holding a token issued for another
issue. Each tries every room route on A's room; every attempt fails with 401, 403 or 404,
and A's room, as its owner sees it, is exactly as it was.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from tests.http.kit import TENANT_A, TENANT_B, Backend, auth, scoped
from tests.unit.roomkit import ANA, BEN, CAI

ANA_A = auth(TENANT_A, ANA)
BEN_A = auth(TENANT_A, BEN)
REFUSED = {401, 403, 404}

# Every room route with a body it would take from a member of the room.
ROOM_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/live", None),
    ("PATCH", "", {"autoReveal": True, "deck": "t-shirt"}),
    ("POST", "/join", {"role": "voter"}),
    ("PUT", "/vote", {"card": "5"}),
    ("DELETE", "/vote", None),
    ("POST", "/reveal", None),
    ("POST", "/reset", None),
    ("POST", "/take-control", None),
    ("POST", "/estimate", {"value": "5"}),
    ("POST", "/leave", None),
    ("POST", "/ticket", None),
    ("GET", "/summary", None),
    ("DELETE", "", None),
]

accounts = st.one_of(
    st.sampled_from([ANA, BEN, CAI]),
    st.from_regex(r"[!-~]{1,40}", fullmatch=True).map(AccountId),
)
other_issues = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}-[1-9][0-9]{0,4}", fullmatch=True).filter(
    lambda key: key != "DEMO-1"
)
issues = st.one_of(st.none(), st.just("DEMO-1"), other_issues).map(
    lambda key: None if key is None else IssueKey(key)
)
unknown_tenants = (
    st.from_regex(r"[A-Za-z0-9:._/-]{1,60}", fullmatch=True)
    .filter(lambda key: key not in {TENANT_A.value, TENANT_B.value, "bad"})
    .map(TenantKey)
)
strangers = st.one_of(
    st.builds(Caller, st.just(TENANT_B), accounts, issues),
    st.builds(Caller, unknown_tenants, accounts, issues),
    st.builds(Caller, st.just(TENANT_A), accounts, other_issues.map(IssueKey)),
)


def headers_of(caller: Caller) -> dict[str, str]:
    return auth(caller.tenant, caller.account, caller.issue_key)


async def owner_view(client: TestClient) -> dict[str, Any]:
    """A's room as its owner sees it (every vote, version, setting and member)."""
    response = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=ANA_A)
    assert response.status == 200
    view: dict[str, Any] = await response.json()
    return view


async def rooms_of_both_tenants(client: TestClient) -> tuple[str, str]:
    """A's room on DEMO-1 with a vote cast and a member online; B's room on DEMO-1."""
    room = await (
        await client.post(
            "/api/rooms", json={"issueKey": "DEMO-1"}, headers=scoped(ANA_A, "DEMO-1")
        )
    ).json()
    await client.post(f"/api/rooms/{room['id']}/join", json={}, headers=BEN_A)
    await client.put(f"/api/rooms/{room['id']}/vote", json={"card": "8"}, headers=BEN_A)
    theirs = await client.post(
        "/api/rooms", json={"issueKey": "DEMO-1"}, headers=scoped(auth(TENANT_B, ANA), "DEMO-1")
    )
    assert theirs.status == 201
    return room["id"], (await theirs.json())["id"]


@pytest.fixture
async def rooms(client: TestClient) -> tuple[str, str]:
    return await rooms_of_both_tenants(client)


async def attempt(client: TestClient, method: str, path: str, **kwargs: Any) -> int:
    """The status of one attempt; a socket that opened is a failure of the test."""
    if method == "GET" and path.endswith("/live"):
        kwargs.pop("json", None)
        try:
            ws = await client.ws_connect(path, **kwargs)
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status
        await ws.close()
        return 101
    async with client.request(method, path, **kwargs) as response:
        return response.status


@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(caller=strangers)
async def test_strangers_reach_nothing_of_the_room(
    client: TestClient, rooms: tuple[str, str], caller: Caller
) -> None:
    room_id, _ = rooms
    before = await owner_view(client)
    headers = headers_of(caller)
    for method, suffix, body in ROOM_ROUTES:
        path = f"/api/rooms/{room_id}{suffix}"
        status = await attempt(client, method, path, headers=headers, json=body)
        assert status in REFUSED, (caller, method, suffix, status)
    await attempt_the_issue_routes(client, caller, room_id)
    assert await owner_view(client) == before


async def attempt_the_issue_routes(client: TestClient, caller: Caller, room_id: str) -> None:
    """Finding or opening DEMO-1's room never yields A's room to a stranger."""
    headers = headers_of(caller)
    issue = {"issueKey": "DEMO-1"}
    for method, query, body in (("GET", issue, None), ("POST", None, issue)):
        async with client.request(
            method, "/api/rooms", headers=headers, params=query, json=body
        ) as response:
            answer = await response.json()
            if response.status < 300:
                # Only tenant B's own room: same issue, another tenant, another room.
                assert caller.tenant == TENANT_B
                assert answer["id"] != room_id
            else:
                assert response.status in {*REFUSED, 409}, (caller, method, answer)


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(account=accounts, issue=st.sampled_from([None, IssueKey("DEMO-1")]))
async def test_a_ticket_for_tenant_bs_room_never_opens_as(
    client: TestClient,
    backend: Backend,
    rooms: tuple[str, str],
    account: AccountId,
    issue: IssueKey | None,
) -> None:
    room_id, their_room = rooms
    before = await owner_view(client)
    headers = auth(TENANT_B, account, issue)
    issued = await client.post(f"/api/rooms/{their_room}/ticket", headers=headers)
    assert issued.status == 200
    ticket = (await issued.json())["ticket"]
    live = f"/api/rooms/{room_id}/live"
    assert await attempt(client, "GET", live, params={"ticket": ticket}) == 401
    # Even a genuine ticket naming B and A's room id (were B to learn it) opens nothing.
    forged = backend.tickets.issue(Caller(TENANT_B, account, issue), RoomId(room_id))
    assert await attempt(client, "GET", live, params={"ticket": forged}) == 404
    # A ticket of A's room carries tenant A: B's token beside it changes nothing.
    own = await (await client.post(f"/api/rooms/{their_room}/ticket", headers=headers)).json()
    assert await attempt(client, "GET", f"/api/rooms/{their_room}/live", params=own) == 101
    assert await owner_view(client) == before


async def test_a_token_for_another_issue_does_not_open_the_socket(
    client: TestClient, rooms: tuple[str, str]
) -> None:
    """The socket route checks the token's issue like every other room route."""
    room_id, _ = rooms
    scoped = auth(TENANT_A, BEN, IssueKey("DEMO-9"))
    status = await attempt(client, "GET", f"/api/rooms/{room_id}/live", headers=scoped)
    assert status == 403
    matching = auth(TENANT_A, BEN, IssueKey("DEMO-1"))
    assert await attempt(client, "GET", f"/api/rooms/{room_id}/live", headers=matching) == 101


async def test_a_strangers_socket_commands_never_reach_the_room(
    client: TestClient, rooms: tuple[str, str]
) -> None:
    """B holding a socket of its own room: its commands change B's room, never A's."""
    _, their_room = rooms
    before = await owner_view(client)
    ticket = await (
        await client.post(f"/api/rooms/{their_room}/ticket", headers=auth(TENANT_B, ANA))
    ).json()
    commands = ({"op": "vote", "card": "5"}, {"op": "reveal"}, {"op": "reset"}, {"op": "remove"})
    async with client.ws_connect(f"/api/rooms/{their_room}/live", params=ticket) as ws:
        for n, command in enumerate(commands):
            await ws.send_json({**command, "id": n})
        answered = 0
        while answered < len(commands):
            message = await ws.receive_json(timeout=5)
            answered += message["type"] == "ack" or "ack" in message
            assert message.get("room", {}).get("id", their_room) == their_room
    assert await owner_view(client) == before


# -- refinement sessions -------------------------------------------------------------------

SESSION_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PATCH", "", {"autoReveal": True}),
    ("POST", "/issues", {"issueKeys": ["DEMO-5"]}),
    ("POST", "/move", {"issueKey": "DEMO-2", "position": 0}),
    ("POST", "/current", {"issueKey": "DEMO-1"}),
    ("POST", "/next", None),
    ("POST", "/skip", None),
    ("POST", "/finish", None),
    ("DELETE", "/issues/DEMO-1", None),
    ("POST", "/ticket", None),
    ("GET", "/summary", None),
    ("DELETE", "", None),
]
other_projects = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}-[1-9][0-9]{0,4}", fullmatch=True).filter(
    lambda key: key.rsplit("-", 1)[0] != "DEMO"
)
session_strangers = st.one_of(
    st.builds(Caller, st.just(TENANT_B), accounts, issues),
    st.builds(Caller, unknown_tenants, accounts, issues),
    # A's own people, holding a token for an issue of another project.
    st.builds(Caller, st.just(TENANT_A), accounts, other_projects.map(IssueKey)),
)
DEMO_A = scoped(ANA_A, "DEMO-1")


@pytest.fixture
async def session_id(client: TestClient) -> str:
    body = {"projectKey": "DEMO", "issueKeys": ["DEMO-1", "DEMO-2", "DEMO-3"]}
    opened = await (await client.post("/api/sessions", json=body, headers=DEMO_A)).json()
    theirs = scoped(auth(TENANT_B, ANA), "DEMO-1")
    assert (await client.post("/api/sessions", json=body, headers=theirs)).status == 201
    return str(opened["id"])


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(caller=session_strangers)
async def test_strangers_reach_nothing_of_the_session(
    client: TestClient, session_id: str, caller: Caller
) -> None:
    base = f"/api/sessions/{session_id}"
    before = await (await client.get(base, headers=DEMO_A)).json()
    headers = headers_of(caller)
    for method, suffix, body in SESSION_ROUTES:
        status = await attempt(client, method, base + suffix, headers=headers, json=body)
        assert status in REFUSED, (caller, method, suffix, status)
    async with client.get(
        "/api/sessions", params={"projectKey": "DEMO"}, headers=headers
    ) as listed:
        if listed.status == 200:
            ids = [s["id"] for s in (await listed.json())["sessions"]]
            assert session_id not in ids, caller
        else:
            assert listed.status in {*REFUSED, 422}, caller
    assert await (await client.get(base, headers=DEMO_A)).json() == before
