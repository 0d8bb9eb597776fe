"""Three `agiletoolbox serve` processes on one database act as one deployment.

A change made through any process reaches the live sockets held by the others through
PostgreSQL LISTEN/NOTIFY, with each recipient's own masking; a ticket issued by one process
opens a socket on another (all derive the ticket key from the same secret key); REST calls
spread round-robin over the processes, as a balancer without sticky sessions does, all
succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, CHITRA, JiraSimulator
from tests.e2e.conftest import ServeProcess, serve_processes
from tests.livekit import next_of, reader

pytestmark = pytest.mark.postgres

WAIT = 10.0
"""Seconds any one expected message may take (generous: the machine may be busy)."""


@pytest.fixture
async def three_processes(
    jira: JiraSimulator, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[ServeProcess, ...]]:
    """Processes A, B and C: one database, one secret key, one public base URL (A's). B
    runs on asyncio's own event loop, A and C on uvloop (the default): one deployment may
    mix them, as while an operator switches."""
    each = {"b": {"event_loop": "asyncio"}}
    async with serve_processes(jira, database_url, tmp_path, ("a", "b", "c"), each) as processes:
        yield processes


def jwt(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


def cards(room: dict[str, Any]) -> dict[str, Any]:
    return {p["accountId"]: p["card"] for p in room["participants"]}


def voted(room: dict[str, Any]) -> dict[str, bool]:
    return {p["accountId"]: p["voted"] for p in room["participants"]}


async def view_where(
    ws: aiohttp.ClientWebSocketResponse, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first view on `ws` that passes `check` (versions only grow on the way)."""
    last = 0
    async with asyncio.timeout(WAIT):
        while True:
            room: dict[str, Any] = (await next_of(ws, "room", within=WAIT))["room"]
            assert room["version"] > last, "versions a client sees only grow"
            last = room["version"]
            if check(room):
                return room


async def ack_of(ws: aiohttp.ClientWebSocketResponse, request_id: str) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            message = await reader(ws).receive(WAIT)
            if message["type"] in ("ack", "error") and message["id"] == request_id:
                assert message["type"] == "ack", message
                return


async def test_changes_through_one_process_reach_sockets_on_the_other(
    jira: JiraSimulator, three_processes: tuple[ServeProcess, ...]
) -> None:
    a, b, _ = three_processes
    await jira.install("acme", a.url)
    alice = jwt(jira.context_token("acme", user=ALICE, issue="DEMO-1"))
    bob = jwt(jira.context_token("acme", user=BOB, issue="DEMO-1"))
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{a.url}/api/rooms", json={"issueKey": "DEMO-1"}, headers=alice
        )
        assert response.status == 201, await response.text()
        room_id = (await response.json())["id"]
        # B verifies the context token Jira minted for A's base URL: one app, two processes.
        response = await session.post(f"{b.url}/api/rooms/{room_id}/join", json={}, headers=bob)
        assert response.status == 200, await response.text()

        async def socket_on(
            server: ServeProcess, issuer: ServeProcess, headers: dict[str, str]
        ) -> aiohttp.ClientWebSocketResponse:
            """A socket on `server`, opened with a ticket that `issuer` issued."""
            url = f"{issuer.url}/api/rooms/{room_id}/ticket"
            async with session.post(url, headers=headers) as answer:
                assert answer.status == 200, await answer.text()
                ticket = (await answer.json())["ticket"]
            return await session.ws_connect(
                f"{server.url}/api/rooms/{room_id}/live", params={"ticket": ticket}
            )

        bob_on_b = await socket_on(b, a, bob)
        alice_on_a = await socket_on(a, b, alice)
        await view_where(bob_on_b, lambda room: True)
        await view_where(alice_on_a, lambda room: True)

        # A vote through A's REST API reaches Bob's socket on B, masked for Bob.
        response = await session.put(
            f"{a.url}/api/rooms/{room_id}/vote", json={"card": "3"}, headers=alice
        )
        assert response.status == 200, await response.text()
        seen_by_bob = await view_where(bob_on_b, lambda room: voted(room)[ALICE])
        assert cards(seen_by_bob) == {ALICE: None, BOB: None}

        # A vote over Bob's socket on B reaches Alice's socket on A, masked for Alice.
        await bob_on_b.send_json({"op": "vote", "card": "5", "id": "bob-5"})
        await ack_of(bob_on_b, "bob-5")
        seen_by_alice = await view_where(alice_on_a, lambda room: voted(room)[BOB])
        assert cards(seen_by_alice) == {ALICE: "3", BOB: None}
        seen_by_bob = await view_where(bob_on_b, lambda room: cards(room)[BOB] is not None)
        assert cards(seen_by_bob) == {ALICE: None, BOB: "5"}

        # The reveal, through B this time, shows every card on both processes' sockets.
        response = await session.post(f"{b.url}/api/rooms/{room_id}/reveal", headers=alice)
        assert response.status == 200, await response.text()
        reveal_version = (await response.json())["version"]
        for ws in (alice_on_a, bob_on_b):
            revealed = await view_where(ws, lambda room: room["state"] == "revealed")
            assert cards(revealed) == {ALICE: "3", BOB: "5"}
            assert revealed["version"] == reveal_version
        await bob_on_b.close()
        await alice_on_a.close()

    codes = await asyncio.gather(*(process.stop() for process in three_processes))
    assert list(codes) == [0, 0, 0], "".join(process.log() for process in three_processes)
    assert "event loop uvloop)" in a.log()
    assert "event loop asyncio)" in b.log()


async def test_a_vote_through_any_process_reaches_sockets_on_the_other_two(
    jira: JiraSimulator, three_processes: tuple[ServeProcess, ...]
) -> None:
    await jira.install("acme", three_processes[0].url)
    people = (ALICE, BOB, CHITRA)
    auth = {p: jwt(jira.context_token("acme", user=p, issue="DEMO-2")) for p in people}
    urls = [process.url for process in three_processes]
    turn = 0

    async def round_robin(
        session: aiohttp.ClientSession, method: str, path: str, person: str, **body: Any
    ) -> dict[str, Any]:
        """One REST call on the next process in turn, as a balancer spreads them."""
        nonlocal turn
        url, turn = urls[turn % len(urls)], turn + 1
        async with session.request(
            method, f"{url}{path}", headers=auth[person], json=None if method == "GET" else body
        ) as response:
            assert response.status in (200, 201), (url, path, await response.text())
            answer: dict[str, Any] = await response.json()
            return answer

    async with aiohttp.ClientSession() as session:
        room_id = (await round_robin(session, "POST", "/api/rooms", ALICE, issueKey="DEMO-2"))["id"]
        for person in (BOB, CHITRA):
            await round_robin(session, "POST", f"/api/rooms/{room_id}/join", person)
        # Each person's socket on a process of their own: Alice on A, Bob on B, Chitra on C.
        sockets: dict[str, aiohttp.ClientWebSocketResponse] = {}
        for person, url in zip(people, urls, strict=True):
            ticket = await round_robin(session, "POST", f"/api/rooms/{room_id}/ticket", person)
            sockets[person] = await session.ws_connect(
                f"{url}/api/rooms/{room_id}/live", params={"ticket": ticket["ticket"]}
            )
            await view_where(sockets[person], lambda room: True)

        # Each person votes through their own process; the other two processes' sockets
        # see it (masked), whichever process took the vote.
        for voter, card in zip(people, ("1", "2", "3"), strict=True):
            await sockets[voter].send_json({"op": "vote", "card": card, "id": voter})
            await ack_of(sockets[voter], voter)
            for watcher in people:
                if watcher != voter:
                    seen = await view_where(sockets[watcher], lambda room, v=voter: voted(room)[v])
                    assert cards(seen)[voter] is None, "votes stay secret until reveal"

        # Many REST calls spread over the three processes: every one succeeds.
        for n in range(30):
            person = people[n % 3]
            await round_robin(session, "GET", "/api/rooms?issueKey=DEMO-2", person)
            await round_robin(
                session, "PUT", f"/api/rooms/{room_id}/vote", person, card=("5", "8")[n % 2]
            )
        revealed = await round_robin(session, "POST", f"/api/rooms/{room_id}/reveal", ALICE)
        for ws in sockets.values():
            seen = await view_where(ws, lambda room: room["state"] == "revealed")
            assert seen["version"] == revealed["version"]
            assert cards(seen) == cards(revealed)
            await ws.close()
