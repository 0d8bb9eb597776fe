"""After a scripted session through the simulated Jira, the database holds no name, avatar
or e-mail of anyone, and the room signals between processes carry ids only."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import asyncpg
import pytest

from agiletoolbox.adapters.postgres.room_sql import CHANNEL
from agiletoolbox.simulator import ALICE, BOB, STORY_POINTS_FIELD, JiraSimulator
from agiletoolbox.simulator.sample import CHITRA, sample_users
from tests.e2e.conftest import Deployment
from tests.integration.database import every_row_as_text
from tests.livekit import reader

pytestmark = pytest.mark.postgres


async def call(
    session: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any
) -> Any:
    headers = {"Authorization": f"JWT {token}"}
    async with session.request(method, url, headers=headers, **kwargs) as response:
        assert response.status < 300, await response.text()
        return await response.json()


async def test_a_session_leaves_ids_only(
    jira: JiraSimulator, deployment: Deployment, database_url: str
) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(CHANNEL, lambda *args: heard.append(args[3]))
    try:
        await jira.install("acme", deployment.url)
        tokens = {
            who: jira.context_token("acme", user=who, issue="DEMO-1")
            for who in (ALICE, BOB, CHITRA)
        }
        async with aiohttp.ClientSession() as session:
            page = await session.get(
                jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-1")
            )
            assert page.status == 200
            room = await call(
                session,
                "POST",
                f"{deployment.url}/api/rooms",
                tokens[ALICE],
                json={
                    "issueKey": "DEMO-1",
                    "fieldId": STORY_POINTS_FIELD,
                    "commentOnEstimate": True,
                },
            )
            base = f"{deployment.url}/api/rooms/{room['id']}"
            await call(session, "POST", f"{base}/join", tokens[BOB], json={})
            await call(session, "POST", f"{base}/join", tokens[CHITRA], json={"role": "observer"})
            ticket = await call(session, "POST", f"{base}/ticket", tokens[BOB])
            async with session.ws_connect(f"{base}/live?ticket={ticket['ticket']}") as socket:
                await socket.receive_json(timeout=5)
                await socket.send_json({"op": "vote", "card": "5", "id": "c1"})
                while (await reader(socket).receive()).get("id") != "c1":
                    pass
            await call(session, "PUT", f"{base}/vote", tokens[ALICE], json={"card": "3"})
            await call(session, "POST", f"{base}/reveal", tokens[ALICE])
            await call(session, "POST", f"{base}/estimate", tokens[ALICE], json={"value": "5"})
            await call(session, "POST", f"{base}/reset", tokens[ALICE])
        await asyncio.sleep(0.2)
    finally:
        await listener.close()

    rows = "\n".join(await every_row_as_text(database_url))
    assert room["id"] in rows
    assert ALICE in rows
    site = jira.site("acme")
    for user in sample_users():
        assert user.display_name not in rows
        if user.email:
            assert user.email not in rows
    assert "/avatars/" not in rows
    assert "Europe/Copenhagen" not in rows  # nor a person's time zone
    for issue in site.issues.values():
        assert issue.summary not in rows
    # The estimate's comment went to Jira with numbers only, and its state is all we keep.
    (comment,) = jira.comments("acme", "DEMO-1")
    said = json.dumps(comment["body"])
    assert "Estimated" in said
    for user in sample_users():
        assert user.display_name not in said
        assert user.account_id not in said
    assert heard, "no room signal was heard"
    for payload in heard:
        # {"t": tenant, "r": room id, "v": version} - ids and a number, nothing else.
        signal = json.loads(payload)
        assert set(signal) == {"t", "r", "v"}, payload
        assert signal["t"] == site.client_key
        assert signal["r"] == room["id"]
        assert isinstance(signal["v"], int)


async def test_an_async_session_leaves_keys_and_counts_only(
    jira: JiraSimulator, deployment: Deployment, database_url: str
) -> None:
    """An async session, its votes, review and accepted estimates: the database holds no
    name or summary, its new columns hold times and counts, and its signals ids only."""
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(CHANNEL, lambda *args: heard.append(args[3]))
    try:
        await jira.install("acme", deployment.url)
        tokens = {who: jira.context_token("acme", user=who, project="DEMO") for who in (ALICE, BOB)}
        async with aiohttp.ClientSession() as session:
            body = {
                "projectKey": "DEMO",
                "issueKeys": ["DEMO-1", "DEMO-2"],
                "mode": "async",
                "deadline": "2099-01-01T00:00:00Z",
                "fieldId": STORY_POINTS_FIELD,
            }
            refused = await session.post(
                f"{deployment.url}/api/sessions",
                json=body,
                headers={"Authorization": f"JWT {tokens[ALICE]}"},
            )
            assert refused.status == 422, "a deadline past 90 days"
            del body["deadline"]
            opened = await call(
                session, "POST", f"{deployment.url}/api/sessions", tokens[ALICE], json=body
            )
            for entry, cards in zip(opened["issues"], (("5", "5"), ("3", "8")), strict=True):
                room = f"{deployment.url}/api/rooms/{entry['roomId']}"
                await call(session, "POST", f"{room}/join", tokens[BOB], json={})
                for who, card in zip((ALICE, BOB), cards, strict=True):
                    await call(session, "PUT", f"{room}/vote", tokens[who], json={"card": card})
            base = f"{deployment.url}/api/sessions/{opened['id']}"
            await call(session, "POST", f"{base}/review", tokens[ALICE])
            done = await call(session, "POST", f"{base}/accept-unanimous", tokens[ALICE])
            assert done["accepted"] == ["DEMO-1"]
        await asyncio.sleep(0.2)
    finally:
        await listener.close()

    rows = "\n".join(await every_row_as_text(database_url))
    assert opened["id"] in rows
    site = jira.site("acme")
    for user in sample_users():
        assert user.display_name not in rows
    for issue in site.issues.values():
        assert issue.summary not in rows
    connection = await asyncpg.connect(database_url)
    try:
        marks = await connection.fetch(
            "SELECT issue_key, review_votes, review_agreement FROM session_issues "
            "WHERE session_id = $1 ORDER BY position",
            opened["id"],
        )
        times = await connection.fetchrow(
            "SELECT deadline, reviewed_at FROM sessions WHERE session_id = $1", opened["id"]
        )
    finally:
        await connection.close()
    assert [tuple(m) for m in marks][1] == ("DEMO-1", 2, 1.0), "counts, never cards"
    assert times is not None
    assert times["deadline"] is None
    assert times["reviewed_at"] is not None
    sessions_heard = [json.loads(p) for p in heard if '"s"' in p]
    assert sessions_heard, "no session signal was heard"
    for signal in sessions_heard:
        assert set(signal) == {"t", "s", "v"}, signal
        assert signal["s"] == opened["id"]
