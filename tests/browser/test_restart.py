"""The demo is killed and started again under three open tabs: they recover by themselves,
and no vote a page shows is missing on the server.

The demo runs as `agiletoolbox demo` in a process of its own (the app and the simulated
Jira together, as people run it), killed with SIGKILL: nothing gets to say goodbye.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agiletoolbox.simulator import ALICE, BOB, CHITRA
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.test_room_page import see
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.postgres

RECOVERY_SECONDS = 10
"""A tab is live again at most this long after the server answers again."""
START_SECONDS = 120


class Demo:
    """`agiletoolbox demo` in a process of its own; its output goes to a file."""

    def __init__(self, env: dict[str, str], jira_port: int, log: Path) -> None:
        self.env = env
        self.jira_port = jira_port
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> str:
        """Start it; return the issue URL it prints once the app is ready."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agiletoolbox",
                "demo",
                "--jira-port",
                str(self.jira_port),
                env=self.env,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            printed = self.log.read_bytes()[offset:].decode(errors="replace")
            found = re.search(r"Open the issue as Alice:\s+(\S+)", printed)
            if found:
                return found.group(1)
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"the demo did not start:\n{self.log.read_text()[-3000:]}")

    async def kill(self) -> None:
        """SIGKILL: no clean shutdown, no goodbye to any socket."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=30)
            except TimeoutError:
                await self.kill()


@pytest.fixture
async def demo(tmp_path: Path, database_url: str) -> AsyncIterator[Demo]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGILETOOLBOX_")}
    env.update(
        AGILETOOLBOX_DATA_DIR=str(tmp_path / "data"),
        AGILETOOLBOX_DATABASE_URL=database_url,
        AGILETOOLBOX_PORT=str(free_port()),
    )
    running = Demo(env, free_port(), tmp_path / "demo.log")
    try:
        yield running
    finally:
        await running.stop()


async def test_open_tabs_recover_from_a_killed_server_and_lose_no_vote(
    chromium: str, demo: Demo
) -> None:
    from playwright.async_api import async_playwright

    url = await demo.start()
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

        async def tab(account: str) -> tuple[Any, Any]:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda error: errors.append(f"{account}: {error}"))
            await page.goto(url.replace(f"user={ALICE}", f"user={account}"))
            return page, page.frame_locator("#glance-panel iframe")

        (_a, alice), (bob_page, bob), (chitra_page, chitra) = [
            await tab(account) for account in (ALICE, BOB, CHITRA)
        ]
        await alice.get_by_role("button", name="Open the room").click()
        for room in (bob, chitra):
            await room.get_by_role("button", name="Join as voter").click()
        await see(alice.locator(".team"), "Chitra Raman")
        await alice.locator('.deck .card[data-card="3"]').click()
        await bob.locator('.deck .card[data-card="5"]').click()
        await see(alice.locator(".team .count"), "2 of 3 voted")

        await demo.kill()
        for room in (alice, bob, chitra):
            await see(room.locator("[data-testid=connection]"), "Reconnecting")
        # Votes made while the server is gone are shown as not saved, not as cast.
        await bob.locator('.deck .card[data-card="13"]').click()
        await chitra.locator('.deck .card[data-card="8"]').click()
        await see(bob.locator("[data-testid=vote-pending]"), "13 not saved yet")
        await see(chitra.locator("[data-testid=vote-pending]"), "8 not saved yet")
        await see(chitra.locator(".team .count"), "2 of 3 voted")

        await demo.start()
        answering = time.monotonic()
        for room in (alice, bob, chitra):
            await see(room.locator("[data-testid=connection]"), "Live")
        recovered = time.monotonic() - answering
        assert recovered <= RECOVERY_SECONDS, f"the tabs took {recovered:.1f} s"
        await see(alice.locator(".team .count"), "3 of 3 voted")
        for room in (bob, chitra):
            await see(room.locator(".team .count"), "3 of 3 voted")
            assert await room.locator("[data-testid=vote-pending]").count() == 0

        # What the pages show is what the server holds: read again from scratch.
        for page, card in ((bob_page, "13"), (chitra_page, "8")):
            await page.reload()
            room = page.frame_locator("#glance-panel iframe")
            await see(room.locator("[data-testid=connection]"), "Live")
            await see(room.locator(".deck .card[aria-pressed=true]"), card)
        await alice.get_by_role("button", name="Reveal cards").click()
        await see(alice.locator(f'.member[data-account="{BOB}"] .mini-card.face'), "13")
        await see(alice.locator(f'.member[data-account="{CHITRA}"] .mini-card.face'), "8")
        await browser.close()
    assert errors == []
