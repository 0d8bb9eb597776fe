"""A round played through the room API, whichever credential the simulated Jira signs."""

from __future__ import annotations

from typing import Any

import aiohttp

from agiletoolbox.simulator import ALICE, BOB, STORY_POINTS_FIELD


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    **kwargs: Any,
) -> tuple[int, Any]:
    """The status and JSON body (None when not JSON) of one request."""
    async with session.request(method, url, headers=headers, **kwargs) as response:
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


async def play_a_round(
    session: aiohttp.ClientSession, api: str, alice: dict[str, str], bob: dict[str, str]
) -> None:
    """Alice opens DEMO-1's room, Bob joins, both vote (Bob sees only his own card), Alice
    reveals and accepts 5, which the answer says was written to the issue."""
    status, room = await call(
        session, "POST", api, alice, json={"issueKey": "DEMO-1", "fieldId": STORY_POINTS_FIELD}
    )
    assert status == 201, room
    assert room["owner"] == ALICE
    base = f"{api}/{room['id']}"
    assert (await call(session, "POST", f"{base}/join", bob, json={}))[0] == 200
    await call(session, "PUT", f"{base}/vote", alice, json={"card": "3"})
    status, seen_by_bob = await call(session, "PUT", f"{base}/vote", bob, json={"card": "5"})
    assert {p["accountId"]: p["card"] for p in seen_by_bob["participants"]} == {
        ALICE: None,
        BOB: "5",
    }
    assert (await call(session, "POST", f"{base}/reveal", alice))[0] == 200
    status, estimated = await call(session, "POST", f"{base}/estimate", alice, json={"value": "5"})
    assert status == 200, estimated
    assert estimated["estimate"]["written"] is True
