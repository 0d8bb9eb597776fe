"""Presence across processes: a person is online while any process holds their socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from attrs import evolve

from agiletoolbox.simulator import ALICE, BOB, JiraSimulator
from tests.e2e.conftest import Deployment, free_port

pytestmark = pytest.mark.postgres


@pytest.fixture
async def second(deployment: Deployment) -> AsyncIterator[Deployment]:
    port = free_port()
    other = Deployment(evolve(deployment.settings, port=port, base_url=f"http://127.0.0.1:{port}"))
    await other.start()
    try:
        yield other
    finally:
        await other.stop()


async def call(method: str, url: str, token: str, **kwargs: Any) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers={"Authorization": f"JWT {token}"}, **kwargs) as r,
    ):
        assert r.status < 300, await r.text()
        return await r.json()


async def bob_online(jira: JiraSimulator, url: str) -> bool:
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    view = await call("GET", f"{url}/api/rooms?issueKey=DEMO-1", alice)
    return next(p["online"] for p in view["participants"] if p["accountId"] == BOB)


async def until(check: Any, expected: bool) -> bool:
    for _ in range(100):
        if await check() is expected:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_closing_one_of_two_tabs_on_different_processes_keeps_the_person_online(
    jira: JiraSimulator, deployment: Deployment, second: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    bob = jira.context_token("acme", user=BOB, issue="DEMO-1")
    room = await call("POST", f"{deployment.url}/api/rooms", alice, json={"issueKey": "DEMO-1"})
    await call("POST", f"{deployment.url}/api/rooms/{room['id']}/join", bob, json={})

    async def socket(url: str) -> aiohttp.ClientWebSocketResponse:
        ticket = await call("POST", f"{url}/api/rooms/{room['id']}/ticket", bob)
        ws = await session.ws_connect(
            f"{url}/api/rooms/{room['id']}/live?ticket={ticket['ticket']}"
        )
        await ws.receive_json(timeout=5)
        return ws

    async with aiohttp.ClientSession() as session:
        here = await socket(deployment.url)
        there = await socket(second.url)
        assert await bob_online(jira, deployment.url)

        await here.close()
        await asyncio.sleep(0.3)
        assert await bob_online(jira, second.url), "the tab on the other process is open"

        await there.close()
        assert await until(lambda: bob_online(jira, deployment.url), False)
