"""Two `agiletoolbox serve` processes on one database act as one deployment.

A change made through either process reaches the live sockets held by the other through
PostgreSQL LISTEN/NOTIFY, with each recipient's own masking; a ticket issued by one process
opens a socket on the other (both derive the ticket key from the same secret key).
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, JiraSimulator
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.postgres

WAIT = 10.0
"""Seconds any one expected message may take (generous: the machine may be busy)."""


class ServeProcess:
    """`python -m agiletoolbox serve` on a port of its own, logging to a file."""

    def __init__(self, name: str, port: int, settings: dict[str, str], folder: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = folder / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGILETOOLBOX_")}
        env.update({f"AGILETOOLBOX_{k.upper()}": v for k, v in settings.items()})
        env["AGILETOOLBOX_PORT"] = str(port)
        env["AGILETOOLBOX_DATA_DIR"] = str(folder / name)
        self._env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            # The schema is current already (the test database is migrated once per run).
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agiletoolbox",
                "serve",
                "--no-migrate",
                env=self._env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def wait_until_up(self, session: aiohttp.ClientSession) -> None:
        async with asyncio.timeout(30):
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"serve exited early:\n{self.log()}")
                try:
                    async with session.get(f"{self.url}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    async def stop(self) -> int:
        """SIGTERM, then the exit status (killed after a grace period)."""
        process = self.process
        if process is None:
            return 0
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()
        assert process.returncode is not None
        return process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
async def two_processes(
    jira: JiraSimulator, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[ServeProcess, ServeProcess]]:
    """Processes A and B: one database, one secret key, one public base URL (A's)."""
    port_a = free_port()
    settings = {
        "env": "test",
        # Jira knows one base URL for the app; both processes must verify tokens against it.
        "base_url": f"http://127.0.0.1:{port_a}",
        "database_url": database_url,
        "secret_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "install_keys_url": jira.install_keys_url,
        "personal_data_url": jira.personal_data_url,
    }
    a = ServeProcess("a", port_a, settings, tmp_path)
    b = ServeProcess("b", free_port(), settings, tmp_path)
    try:
        await asyncio.gather(a.start(), b.start())
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(a.wait_until_up(session), b.wait_until_up(session))
        yield a, b
    finally:
        await asyncio.gather(a.stop(), b.stop())


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
            message = await ws.receive_json()
            if message["type"] != "room":
                continue
            room: dict[str, Any] = message["room"]
            assert room["version"] > last, "versions a client sees only grow"
            last = room["version"]
            if check(room):
                return room


async def ack_of(ws: aiohttp.ClientWebSocketResponse, request_id: str) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            message = await ws.receive_json()
            if message["type"] in ("ack", "error") and message["id"] == request_id:
                assert message["type"] == "ack", message
                return


async def test_changes_through_one_process_reach_sockets_on_the_other(
    jira: JiraSimulator, two_processes: tuple[ServeProcess, ServeProcess]
) -> None:
    a, b = two_processes
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

    codes = await asyncio.gather(a.stop(), b.stop())
    assert list(codes) == [0, 0], a.log() + b.log()
