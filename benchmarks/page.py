"""Room page benchmark: time to interactive and bytes transferred, in headless Chromium.

Run by hand: `.venv/bin/python benchmarks/page.py [--runs 10]`. Unlike the other
benchmarks it needs more than `pip install -e .`: Playwright (`pip install playwright`, or
the `test` extra) and Debian's Chromium (`apt-get install chromium`). The database server
is chosen as for the tests; a fresh database is created and dropped. The app runs as
`serve` runs it, on loopback, with the Jira simulator hosting the page; a room with two
teammates is opened first, so the page measured is a live room, not the set-up form.

Each run is a cold load in a new browser context (empty cache) of the simulated issue
view; the room page is its iframe. Measured inside the iframe, from its navigation start:

- time to interactive: the cards are on screen and take clicks (`room-interactive`);
- live: the socket is open and synced (`room-live`).

Bytes are what the browser received for the room page: the page and its files, the
app's API answers and socket frames, the bridge script (`all.js`), and the Jira REST
answers the page asked for through `AP.request` (fields, people). Targets: 300 ms, 100 KB.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import secrets
import socket
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from playwright.async_api import async_playwright

from agiletoolbox.adapters.postgres.scratch import scratch_database
from agiletoolbox.containers import Container
from agiletoolbox.settings import Environment, Settings
from agiletoolbox.simulator import ALICE, BOB, STORY_POINTS_FIELD, JiraSimulator

TARGET_MS = 300.0
TARGET_BYTES = 100 * 1024
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
MARKS = """() => {
  const at = (name) => (performance.getEntriesByName(name)[0] || {}).startTime ?? null;
  return { interactive: at("room-interactive"), live: at("room-live") };
}"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _open_room(jira: JiraSimulator, app_url: str) -> None:
    """Alice opens the room of DEMO-1, Bob joins; both vote."""
    tokens = {who: jira.context_token("acme", user=who, issue="DEMO-1") for who in (ALICE, BOB)}
    async with aiohttp.ClientSession() as session:

        async def call(who: str, method: str, path: str, body: dict[str, Any]) -> Any:
            headers = {"Authorization": f"JWT {tokens[who]}"}
            async with session.request(method, app_url + path, json=body, headers=headers) as r:
                assert r.status < 300, await r.text()
                return await r.json()

        room = await call(
            ALICE, "POST", "/api/rooms", {"issueKey": "DEMO-1", "fieldId": STORY_POINTS_FIELD}
        )
        base = f"/api/rooms/{room['id']}"
        await call(BOB, "POST", f"{base}/join", {"role": "voter"})
        await call(ALICE, "PUT", f"{base}/vote", {"card": "5"})
        await call(BOB, "PUT", f"{base}/vote", {"card": "8"})


async def _one_load(browser: Any, url: str, app_origin: str, jira_origin: str) -> dict[str, float]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    requests: list[Any] = []
    frames: list[int] = []

    def record(request: Any) -> None:  # Playwright wants a function of its own here
        requests.append(request)

    page.on("request", record)
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(len(str(p)))))
    await page.goto(url)
    frame_element = await page.wait_for_selector("#glance-panel iframe")
    frame = await frame_element.content_frame()
    assert frame is not None
    await frame.wait_for_selector("#room[data-ready=true] .card", timeout=20_000)
    await frame.wait_for_function("() => performance.getEntriesByName('room-live').length > 0")
    marks = await frame.evaluate(MARKS)
    await page.wait_for_timeout(300)  # let the last answers finish arriving
    app_bytes = bridge_bytes = 0
    for request in requests:
        response = await request.response()
        if response is None:
            continue
        sizes = await request.sizes()
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        if request.url.startswith(app_origin) and "/static/icon.svg" not in request.url:
            app_bytes += size
        elif request.url.startswith(jira_origin) and (
            "/atlassian-connect/all.js" in request.url
            or "/rest/api/3/user/bulk" in request.url
            or "/editmeta" in request.url
        ):
            bridge_bytes += size
    await context.close()
    return {
        "interactive": float(marks["interactive"]),
        "live": float(marks["live"]),
        "app_bytes": float(app_bytes + sum(frames)),
        "bridge_bytes": float(bridge_bytes),
    }


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.1f}  p90 {p90:7.1f}  max {ordered[-1]:7.1f}"


async def measure(runs: int, database_url: str) -> bool:
    """Run the loads; print the figures; return whether both targets are met."""
    port = _free_port()
    async with JiraSimulator(sites=("acme",)) as jira:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(
                env=Environment.DEVELOPMENT,
                port=port,
                base_url=f"http://127.0.0.1:{port}",
                database_url=database_url,
                data_dir=Path(data_dir),
                secret_key=base64.b64encode(secrets.token_bytes(32)).decode(),
                install_keys_url=jira.install_keys_url,
                personal_data_url=jira.personal_data_url,
            )
            container = Container(settings=settings)
            await container.init_resources()  # type: ignore[misc]
            runner = web.AppRunner(await container.app(), access_log=None)  # type: ignore[misc]
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            try:
                await jira.install("acme", settings.base_url)
                await _open_room(jira, settings.base_url)
                url = f"{jira.site('acme').base_url}/browse/DEMO-1?user={ALICE}"
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path=CHROMIUM, args=CHROMIUM_ARGS
                    )
                    await _one_load(browser, url, settings.base_url, jira.origin)  # warm-up
                    loads = [
                        await _one_load(browser, url, settings.base_url, jira.origin)
                        for _ in range(runs)
                    ]
                    await browser.close()
            finally:
                await runner.cleanup()
                await container.shutdown_resources()  # type: ignore[misc]
    interactive = [load["interactive"] for load in loads]
    live = [load["live"] for load in loads]
    total = [load["app_bytes"] + load["bridge_bytes"] for load in loads]
    median_ms = statistics.median(interactive)
    median_bytes = statistics.median(total)
    print(f"room page, headless Chromium, {runs} cold loads (ms from the iframe's start)")
    print(f"  time to interactive   {_summary(interactive)}   target <= {TARGET_MS:.0f} ms")
    print(f"  live socket synced    {_summary(live)}")
    app_kb = statistics.median(load["app_bytes"] for load in loads) / 1024
    bridge_kb = statistics.median(load["bridge_bytes"] for load in loads) / 1024
    print(
        f"  bytes transferred     {median_bytes / 1024:.1f} KB (app {app_kb:.1f} KB, "
        f"bridge and Jira reads {bridge_kb:.1f} KB)   target <= {TARGET_BYTES // 1024} KB"
    )
    met = median_ms <= TARGET_MS and median_bytes <= TARGET_BYTES
    print("  targets met" if met else "  TARGET MISSED")
    return met


async def run(runs: int) -> bool:
    """Measure on a fresh database; whether the targets are met."""
    async with scratch_database() as url:
        return await measure(runs, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    arguments = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("Chromium is not installed: apt-get install chromium")
    sys.exit(0 if asyncio.run(run(arguments.runs)) else 1)


if __name__ == "__main__":
    main()
