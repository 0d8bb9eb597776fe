"""An async session's deadline moves it to review by itself, once, with two `serve`
processes on one database both looking for due sessions every second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, JiraSimulator
from tests.e2e.conftest import ServeProcess, serve_processes

pytestmark = pytest.mark.postgres

REVIEWED = "moved to review"
"""What a process logs when its deadline job reviewed sessions."""


@pytest.fixture
async def two_processes(
    jira: JiraSimulator, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[ServeProcess, ...]]:
    """Processes A and B, each looking for due sessions every second."""
    async with serve_processes(
        jira, database_url, tmp_path, ("a", "b"), deadline_check_seconds="1"
    ) as processes:
        yield processes


async def test_the_deadline_reviews_an_async_session_once_across_processes(
    jira: JiraSimulator, two_processes: tuple[ServeProcess, ...]
) -> None:
    a, b = two_processes
    await jira.install("acme", a.url)
    alice = {"Authorization": "JWT " + jira.context_token("acme", user=ALICE, project="DEMO")}
    bob = {"Authorization": "JWT " + jira.context_token("acme", user=BOB, project="DEMO")}
    deadline = datetime.now(UTC) + timedelta(seconds=4)
    body = {
        "projectKey": "DEMO",
        "issueKeys": ["DEMO-1", "DEMO-2"],
        "mode": "async",
        "deadline": deadline.isoformat(),
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{a.url}/api/sessions", json=body, headers=alice) as answer:
            assert answer.status == 201, await answer.text()
            opened: dict[str, Any] = await answer.json()
        rooms = [f"{b.url}/api/rooms/{i['roomId']}" for i in opened["issues"]]
        for room, card in zip(rooms, ("3", "8"), strict=True):
            for who, vote in ((alice, card), (bob, "8")):
                async with http.post(room + "/join", json={}, headers=who) as answer:
                    assert answer.status == 200, await answer.text()
                async with http.put(room + "/vote", json={"card": vote}, headers=who) as answer:
                    assert answer.status == 200, await answer.text()
        url = f"{b.url}/api/sessions/{opened['id']}"
        async with http.get(url, headers=bob) as answer:
            before = await answer.json()
        assert (before["mode"], before["reviewedAt"]) == ("async", None), "not due yet"

        async with asyncio.timeout(30):
            while True:
                async with http.get(url, headers=bob) as answer:
                    seen = await answer.json()
                if seen["reviewedAt"] is not None:
                    break
                await asyncio.sleep(0.5)
        # Both processes keep looking for a few more passes: nothing happens again.
        await asyncio.sleep(3)
        async with http.get(url, headers=alice) as answer:
            after = await answer.json()

    assert (after["version"], after["reviewedAt"]) == (seen["version"], seen["reviewedAt"])
    assert (after["mode"], after["version"]) == ("live", before["version"] + 1)
    assert datetime.fromisoformat(after["reviewedAt"]) >= deadline
    assert [i["issueKey"] for i in after["issues"]] == ["DEMO-1", "DEMO-2"], "3/8 first"
    assert [i["unanimous"] for i in after["issues"]] == [False, True]
    logs = [process.log() for process in two_processes]
    assert sum(log.count(REVIEWED) for log in logs) == 1, logs
    assert all("Traceback" not in log for log in logs), logs
