"""The session's live socket: every page of a session follows the owner's steps and its
rooms' progress; a removal closes it; project page tokens reach their project only."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from agiletoolbox.domain.ids import IssueKey
from tests.http.kit import TENANT_A, Backend, auth
from tests.unit.roomkit import ANA, BEN, STORY_POINTS

ANA_PAGE = {"Authorization": f"Test {TENANT_A} {ANA} DEMO"}
"""Ana's project page token (its context names the project DEMO)."""
BEN_PAGE = {"Authorization": f"Test {TENANT_A} {BEN} DEMO"}
KEYS = ["DEMO-1", "DEMO-2", "DEMO-3"]


async def open_session(client: TestClient, **settings: Any) -> dict[str, Any]:
    body = {"projectKey": "DEMO", "issueKeys": KEYS, "autoReveal": False, **settings}
    response = await client.post("/api/sessions", json=body, headers=ANA_PAGE)
    assert response.status == 201, await response.text()
    opened: dict[str, Any] = await response.json()
    return opened


async def follow(
    client: TestClient, session_id: str, headers: dict[str, str]
) -> aiohttp.ClientWebSocketResponse:
    answer = await client.post(f"/api/sessions/{session_id}/ticket", headers=headers)
    assert answer.status == 200, await answer.text()
    ticket = (await answer.json())["ticket"]
    return await client.ws_connect(f"/api/sessions/{session_id}/live", params={"ticket": ticket})


async def received(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = message.json()
    return data


async def session_where(ws: aiohttp.ClientWebSocketResponse, check: Any) -> dict[str, Any]:
    while True:
        message = await received(ws)
        if message["type"] == "session" and check(message["session"]):
            session: dict[str, Any] = message["session"]
            return session


def state_of(session: dict[str, Any], key: str) -> str:
    return next(str(i["state"]) for i in session["issues"] if i["issueKey"] == key)


def shared(view: dict[str, Any]) -> dict[str, Any]:
    """What every page of a session is shown alike (not whose page, nor their own cards)."""
    issues = [{k: v for k, v in i.items() if k != "yourCard"} for i in view["issues"]]
    return {**{k: v for k, v in view.items() if k != "you"}, "issues": issues}


async def test_every_page_follows_the_owner_and_the_rooms(client: TestClient) -> None:
    session_id = (await open_session(client))["id"]
    ben = await follow(client, session_id, BEN_PAGE)
    first = await session_where(ben, lambda s: True)
    assert (first["current"], first["room"], first["state"]) == (None, None, "planning")
    base = f"/api/sessions/{session_id}"

    assert (await client.post(base + "/next", headers=ANA_PAGE)).status == 200
    moved = await session_where(
        ben, lambda s: s["current"] == "DEMO-1" and s["issues"][0]["roomId"]
    )
    assert moved["room"] is None, "the room's state travels on the room's own socket"
    room_id = moved["issues"][0]["roomId"]

    # The room's progress moves the session, and the pages hear it.
    assert (
        await client.post(f"/api/rooms/{room_id}/join", json={}, headers=BEN_PAGE)
    ).status == 200
    vote = {"card": "5"}
    assert (
        await client.put(f"/api/rooms/{room_id}/vote", json=vote, headers=BEN_PAGE)
    ).status == 200
    assert (
        await client.post(f"/api/rooms/{room_id}/reveal", json={}, headers=ANA_PAGE)
    ).status == 200
    revealed = await session_where(ben, lambda s: state_of(s, "DEMO-1") == "revealed")
    assert revealed["version"] > moved["version"]

    # Queue changes and a late page: the same state.
    move = {"issueKey": "DEMO-3", "position": 0}
    assert (await client.post(base + "/move", json=move, headers=ANA_PAGE)).status == 200
    reordered = await session_where(ben, lambda s: s["issues"][0]["issueKey"] == "DEMO-3")
    ana = await follow(client, session_id, ANA_PAGE)
    assert shared(await session_where(ana, lambda s: True)) == shared(reordered)

    # `sync` sends the whole view again; anything else is refused, and the socket stays.
    await ben.send_json({"op": "vote", "card": "5", "id": 1})
    refused = await received(ben)
    while refused["type"] == "session":  # the rooms' counts, sent again after their change
        refused = await received(ben)
    assert (refused["type"], refused["id"], refused["error"]["status"]) == ("error", 1, 422)
    await ben.send_json({"op": "sync"})
    assert await session_where(ben, lambda s: True) == reordered

    # Only the owner drives; then the removal reaches every page.
    assert (await client.post(base + "/next", headers=BEN_PAGE)).status == 403
    assert (await client.delete(base, headers=ANA_PAGE)).status == 200
    for ws in (ana, ben):
        while (message := await received(ws))["type"] != "removed":
            assert message["type"] == "session"
        closing = await asyncio.wait_for(ws.receive(), 5)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 4404)
    gone = await client.post(f"/api/rooms/{room_id}/ticket", headers=ANA_PAGE)
    assert gone.status == 404, "the room it opened went with it"


async def test_a_ticket_opens_its_own_session_once(client: TestClient) -> None:
    one = (await open_session(client))["id"]
    other = (await open_session(client))["id"]
    answer = await client.post(f"/api/sessions/{one}/ticket", headers=BEN_PAGE)
    ticket = (await answer.json())["ticket"]
    refused = await client.get(f"/api/sessions/{other}/live", params={"ticket": ticket})
    assert refused.status == 401
    room_ticket = await client.get(f"/api/rooms/{one}/live", params={"ticket": ticket})
    assert room_ticket.status in (401, 404), "a session's ticket opens no room"
    ws = await client.ws_connect(f"/api/sessions/{one}/live", params={"ticket": ticket})
    assert (await received(ws))["type"] == "session"
    again = await client.get(f"/api/sessions/{one}/live", params={"ticket": ticket})
    assert again.status == 401
    await ws.close()


async def test_a_project_page_token_reaches_rooms_of_its_project_only(
    client: TestClient, backend: Backend
) -> None:
    """A project page's token acts in its project: the rooms of another project's issues
    stay out of its reach, as they do for an issue's token."""
    backend.jira.add_issue(TENANT_A, IssueKey("OPS-1"))
    other = await client.post(
        "/api/rooms",
        json={"issueKey": "OPS-1"},
        headers={"Authorization": f"Test {TENANT_A} {BEN} OPS-1"},
    )
    assert other.status == 201, await other.text()
    room_id = (await other.json())["id"]
    base = f"/api/rooms/{room_id}"
    assert (await client.post(base + "/join", json={}, headers=ANA_PAGE)).status == 403
    assert (await client.post(base + "/ticket", headers=ANA_PAGE)).status == 403
    assert (
        await client.get("/api/rooms", params={"issueKey": "OPS-1"}, headers=ANA_PAGE)
    ).status == 403
    ops_page = {"Authorization": f"Test {TENANT_A} {ANA} OPS"}
    assert (await client.post(base + "/join", json={}, headers=ops_page)).status == 200
    assert (await client.post(base + "/join", json={}, headers=auth(TENANT_A, ANA))).status == 200


async def test_a_sessions_settings_can_become_the_owners_default(client: TestClient) -> None:
    body = {
        "projectKey": "DEMO",
        "issueKeys": KEYS,
        "autoReveal": True,
        "questionCard": False,
        "saveAsDefault": True,
        "issueTypeId": "10001",
    }
    created = await client.post("/api/sessions", json=body, headers=ANA_PAGE)
    assert created.status == 201, await created.text()
    query = {"issueKey": "DEMO-2", "issueTypeId": "10001"}
    saved = await (await client.get("/api/defaults", params=query, headers=ANA_PAGE)).json()
    assert saved["defaults"]["autoReveal"] is True
    assert saved["defaults"]["questionCard"] is False
    theirs = await (await client.get("/api/defaults", params=query, headers=BEN_PAGE)).json()
    assert theirs["defaults"] is None, "a default is the person's own"
    unnamed = {**body, "issueTypeId": None}
    refused = await client.post("/api/sessions", json=unnamed, headers=ANA_PAGE)
    assert refused.status == 422
    assert "issueTypeId" in await refused.text()


async def test_the_record_comes_as_json_or_csv_with_keys_and_numbers(client: TestClient) -> None:
    session_id = (await open_session(client, fieldId=STORY_POINTS.value))["id"]
    base = f"/api/sessions/{session_id}"
    moved = await (await client.post(base + "/next", headers=ANA_PAGE)).json()
    room = f"/api/rooms/{moved['issues'][0]['roomId']}"
    assert (await client.put(room + "/vote", json={"card": "5"}, headers=ANA_PAGE)).status == 200
    assert (await client.post(room + "/reveal", json={}, headers=ANA_PAGE)).status == 200
    accepted = await client.post(room + "/estimate", json={"value": "5"}, headers=ANA_PAGE)
    assert accepted.status == 200, await accepted.text()
    assert (await client.post(base + "/next", headers=ANA_PAGE)).status == 200
    assert (await client.post(base + "/skip", headers=ANA_PAGE)).status == 200

    record = await (await client.get(base + "/summary", headers=BEN_PAGE)).json()
    assert (record["estimated"], record["skipped"], record["points"]) == (1, 1, 5)
    first = record["issues"][0]
    assert {k: first[k] for k in ("issueKey", "estimate", "votes", "agreement", "rounds")} == {
        "issueKey": "DEMO-1", "estimate": "5", "votes": 1, "agreement": 1.0, "rounds": 1
    }  # fmt: skip
    answer = await client.get(base + "/summary", headers={**BEN_PAGE, "Accept": "text/csv"})
    assert answer.content_type == "text/csv"
    assert 'filename="DEMO-session-' in answer.headers["Content-Disposition"]
    lines = (await answer.text()).splitlines()
    assert lines[0] == "issueKey,state,estimate,points,written,votes,agreement,rounds"
    assert lines[1].startswith("DEMO-1,estimated,5,5,")
    assert lines[2] == "DEMO-2,skipped,,,no,0,,0"
    same = await client.get(base + "/summary", params={"format": "csv"}, headers=BEN_PAGE)
    assert await same.text() == await answer.text()


async def test_an_async_session_counts_progress_live_and_reviews_by_agreement(
    client: TestClient,
) -> None:
    """Everyone votes at once, pages see counts (never cards) move as votes come, the
    reveal waits for the review, and "accept all unanimous" writes what agreed."""
    opened = await open_session(client, mode="async", fieldId=STORY_POINTS.value)
    assert (opened["state"], opened["mode"]) == ("running", "async")
    assert all(i["state"] == "voting" and i["roomId"] for i in opened["issues"])
    session_id, base = opened["id"], f"/api/sessions/{opened['id']}"
    rooms = [f"/api/rooms/{i['roomId']}" for i in opened["issues"]]
    ben = await follow(client, session_id, BEN_PAGE)
    await session_where(ben, lambda s: True)

    cards = {ANA_PAGE["Authorization"]: ["3", "5", "8"], BEN_PAGE["Authorization"]: ["3", "13"]}
    for headers in (ANA_PAGE, BEN_PAGE):
        for room, card in zip(rooms, cards[headers["Authorization"]], strict=False):
            assert (await client.post(room + "/join", json={}, headers=headers)).status == 200
            voted = await client.put(room + "/vote", json={"card": card}, headers=headers)
            assert voted.status == 200, await voted.text()
    seen = await session_where(ben, lambda s: {p["done"] for p in s["progress"]} == {2, 3})
    assert {p["accountId"]: p["done"] for p in seen["progress"]} == {
        ANA.value: 3,
        BEN.value: 2,
    }
    assert [i["yourCard"] for i in seen["issues"]] == ["3", "13", None], "Ben's own only"
    assert [i["voted"] for i in seen["issues"]] == [2, 2, 1]
    hidden = await client.post(rooms[0] + "/reveal", json={}, headers=ANA_PAGE)
    assert hidden.status == 409, await hidden.text()
    assert (await client.post(base + "/next", headers=ANA_PAGE)).status == 409
    assert (await client.post(base + "/review", headers=BEN_PAGE)).status == 403

    reviewed = await (await client.post(base + "/review", headers=ANA_PAGE)).json()
    assert [i["issueKey"] for i in reviewed["issues"]] == ["DEMO-2", "DEMO-1", "DEMO-3"]
    assert [i["unanimous"] for i in reviewed["issues"]] == [False, True, False]
    assert [i["reviewVotes"] for i in reviewed["issues"]] == [2, 2, 1]
    assert (reviewed["mode"], reviewed["current"]) == ("live", "DEMO-2")
    assert reviewed["reviewedAt"] is not None
    assert (await client.post(base + "/review", headers=ANA_PAGE)).status == 409

    accepted = await client.post(base + "/accept-unanimous", headers=ANA_PAGE)
    assert accepted.status == 200, await accepted.text()
    done = await accepted.json()
    assert (done["accepted"], done["failed"]) == (["DEMO-1"], [])
    assert [i["state"] for i in done["session"]["issues"]] == ["voting", "estimated", "voting"]
    assert (await client.post(base + "/accept-unanimous", headers=BEN_PAGE)).status == 403


async def test_a_deadline_is_a_time_with_its_offset_within_ninety_days(client: TestClient) -> None:
    for deadline, status in (
        ("2026-12-07T09:00:00", 422),  # no offset: whose 9 o'clock?
        ("2099-01-01T00:00:00Z", 422),  # too far ahead
        ("not a time", 422),
    ):
        body = {"projectKey": "DEMO", "issueKeys": KEYS, "mode": "async", "deadline": deadline}
        answer = await client.post("/api/sessions", json=body, headers=ANA_PAGE)
        assert answer.status == status, (deadline, await answer.text())
    body = {
        "projectKey": "DEMO",
        "issueKeys": KEYS,
        "mode": "live",
        "deadline": "2099-01-01T00:00:00Z",
    }
    assert (await client.post("/api/sessions", json=body, headers=ANA_PAGE)).status == 422
