"""Browser tests: Debian's Chromium driven by Playwright, the app on PostgreSQL, Jira simulated.

Each person plays in a browser context of their own, on the simulator's issue view; the
app sits behind a proxy the test can cut. Every request a page makes to the app's origin,
and every socket frame it sends there, is recorded, so a test can check that no name,
avatar or e-mail ever reaches the app.

Without Chromium (or Playwright) the tests skip, unless `CI` is set: then they fail.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from agiletoolbox.settings import Environment, Settings
from agiletoolbox.simulator import JiraSimulator
from agiletoolbox.simulator.issueview import project_page_path
from tests.browser.proxy import FlakyNetwork
from tests.e2e.conftest import Deployment, database_url, free_port, postgres_server_url

__all__ = ["database_url", "postgres_server_url"]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SITE = "acme"


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary; skip (or, in CI, fail) when there is none."""
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set: the browser tests must run in CI")
        pytest.skip(reason)
    path = chromium_path()
    assert path is not None
    return path


class AppTraffic:
    """What browsers sent to the app's origin: requests and socket frames."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.requests: list[Any] = []
        self.frames: list[str] = []

    def watch(self, page: Any) -> None:
        """Record `page`'s requests (every frame of it) and socket frames to the app."""

        def on_request(request: Any) -> None:
            if request.url.startswith(self.origin):
                self.requests.append(request)

        def on_socket(socket: Any) -> None:
            if socket.url.replace("ws", "http", 1).startswith(self.origin):
                socket.on("framesent", lambda payload: self.frames.append(str(payload)))

        page.on("request", on_request)
        page.on("websocket", on_socket)

    async def texts(self) -> list[str]:
        """Everything sent: URLs, headers, bodies and frames, as text."""
        sent = list(self.frames)
        for request in self.requests:
            sent.append(request.url)
            sent.extend(f"{k}: {v}" for k, v in (await request.all_headers()).items())
            sent.append(request.post_data or "")
        return sent


class Stack:
    """The simulator, the app behind its flaky network, and the browser."""

    def __init__(
        self, jira: JiraSimulator, app: Deployment, network: FlakyNetwork, browser: Any
    ) -> None:
        self.jira = jira
        self.app = app
        self.network = network
        self.browser = browser
        self.traffic = AppTraffic(network.url)
        self.errors: list[str] = []

    def issue_url(self, account_id: str, issue: str = "DEMO-1", theme: str = "light") -> str:
        url = f"{self.jira.site(SITE).base_url}/browse/{issue}?user={account_id}"
        return url if theme == "light" else f"{url}&theme={theme}"

    async def open(
        self,
        account_id: str,
        issue: str = "DEMO-1",
        *,
        width: int = 1280,
        height: int = 900,
        bypass_csp: bool = False,
        theme: str = "light",
        url: str | None = None,
    ) -> Any:
        """A new browser context for one person, on the issue view (or at `url`); returns
        the page.

        `bypass_csp` lets a test inject its own script (axe-core) into the app's frame.
        """
        context = await self.browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=bypass_csp
        )
        page = await context.new_page()
        page.set_default_timeout(15_000)
        self.traffic.watch(page)
        page.on("pageerror", lambda error: self.errors.append(f"{account_id}: {error}"))
        await page.goto(url or self.issue_url(account_id, issue, theme))
        return page

    def sessions_url(self, account_id: str, session: str | None = None) -> str:
        """The project page of DEMO (its refinement sessions), or one session's page."""
        site = self.jira.site(SITE)
        extra = f"&ac.session={session}" if session else ""
        user = site.users[account_id]
        return site.origin + project_page_path(site, site.installation(None), user, extra)


@pytest.fixture
async def stack(chromium: str, database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """Everything running, the app installed on site `acme`."""
    from playwright.async_api import async_playwright

    async with JiraSimulator(sites=(SITE,)) as jira:
        port = free_port()
        network = FlakyNetwork(port)
        await network.start()
        settings = Settings(
            env=Environment.TEST,
            port=port,
            base_url=network.url,
            database_url=database_url,
            data_dir=tmp_path,
            secret_key=base64.b64encode(secrets.token_bytes(32)).decode(),
            install_keys_url=jira.install_keys_url,
            personal_data_url=jira.personal_data_url,
        )
        app = Deployment(settings)
        await app.start()
        try:
            await jira.install(SITE, network.url)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=chromium, args=CHROMIUM_ARGS
                )
                try:
                    yield Stack(jira, app, network, browser)
                finally:
                    await browser.close()
        finally:
            await network.stop()
            await app.stop()


@pytest.fixture
def room_of() -> Callable[[Any], Any]:
    """The app's frame (the glance panel) of a page."""

    def frame(page: Any) -> Any:
        return page.frame_locator("#glance-panel iframe")

    return frame
