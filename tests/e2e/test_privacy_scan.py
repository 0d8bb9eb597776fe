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
                json={"issueKey": "DEMO-1", "fieldId": STORY_POINTS_FIELD},
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
    assert heard, "no room signal was heard"
    for payload in heard:
        # {"t": tenant, "r": room id, "v": version} - ids and a number, nothing else.
        signal = json.loads(payload)
        assert set(signal) == {"t", "r", "v"}, payload
        assert signal["t"] == site.client_key
        assert signal["r"] == room["id"]
        assert isinstance(signal["v"], int)
