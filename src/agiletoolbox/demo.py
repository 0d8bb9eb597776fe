"""`agiletoolbox demo`: the whole product on one machine, with nothing to configure.

Three things run in one process:

- the app, exactly as `agiletoolbox serve` runs it (the composition root, migrations,
  live rooms), in development mode, on the embedded PostgreSQL whose data lives in
  `AGILETOOLBOX_DATA_DIR` (unless `AGILETOOLBOX_DATABASE_URL` names another server);
- a simulated Jira Cloud site, `acme`, with project DEMO, its issues and five teammates,
  which installs the app the way Jira does (signed `installed`, then `enabled`) and
  serves an issue view with the app in its right column and a user switcher;
- the glue: the app trusts the simulator's install keys and personal-data API.

The site keeps its client key, its issues' field values and the key of its people's
browser sessions in the data directory (`demo-jira.json`), so rooms and written estimates
are there again on the next run, and issue views left open stay signed in across a
restart, as they would on Jira.
Ctrl-C (or SIGTERM) stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from attrs import evolve

from agiletoolbox.server import serve
from agiletoolbox.settings import Environment, Settings
from agiletoolbox.simulator import ALICE, BOB, JiraSimulator, Site
from agiletoolbox.simulator.issueview import project_page_path

DEMO_SITE = "acme"
DEMO_ISSUE = "DEMO-1"
DEFAULT_JIRA_PORT = 8090
STATE_FILE = "demo-jira.json"
READY_TIMEOUT_SECONDS = 180.0
SAVE_EVERY_SECONDS = 5.0


class DemoError(RuntimeError):
    """The demo cannot start; the message says what to change."""


class DemoState:
    """What the simulated site keeps between runs: its client key and field values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved = ""
        self.client_key: str | None = None
        self.values: dict[str, dict[str, Any]] = {}
        self.session_key = secrets.token_bytes(32)
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            if isinstance(data, dict):
                key = data.get("clientKey")
                self.client_key = key if isinstance(key, str) and key else None
                values = data.get("values")
                self.values = values if isinstance(values, dict) else {}
                saved = data.get("sessionKey")
                with contextlib.suppress(ValueError):
                    if isinstance(saved, str) and len(saved) == 64:
                        self.session_key = bytes.fromhex(saved)

    def restore(self, site: Site) -> None:
        """Put the saved field values back on the site's issues."""
        for key, values in self.values.items():
            issue = site.issue(key)
            if issue is not None and isinstance(values, dict):
                issue.values.update({f: v for f, v in values.items() if f in site.fields})

    def save(self, site: Site) -> None:
        """Write the site's client key and field values, if they changed."""
        text = json.dumps(
            {
                "clientKey": site.client_key,
                "sessionKey": self.session_key.hex(),
                "values": {key: issue.values for key, issue in sorted(site.issues.items())},
            },
            indent=1,
            sort_keys=True,
        )
        if text == self._saved:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(self.path)
        self._saved = text


def demo_settings(environ: Mapping[str, str], jira: JiraSimulator) -> Settings:
    """The app's settings for the demo: the environment's, pointed at the simulator."""
    settings = Settings.from_env(environ)
    if settings.production:
        raise DemoError("the demo runs in development only: unset AGILETOOLBOX_ENV=production")
    base_url = settings.base_url
    if not environ.get("AGILETOOLBOX_BASE_URL", "").strip():
        base_url = f"http://{settings.host}:{settings.port}"
    return evolve(
        settings,
        env=Environment.DEVELOPMENT,
        base_url=base_url,
        install_keys_url=jira.install_keys_url,
        personal_data_url=jira.personal_data_url,
    )


async def _wait_until_ready(url: str, app: asyncio.Task[None]) -> None:
    """Poll `/readyz` until the app answers 200; fail if the app stopped instead."""
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_SECONDS
    async with aiohttp.ClientSession() as session:
        while not app.done():
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(
                    url + "/readyz", timeout=aiohttp.ClientTimeout(total=2)
                ) as r:
                    if r.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise DemoError(f"the app did not become ready at {url} in time")
            await asyncio.sleep(0.2)
    await app  # raises what stopped it
    raise DemoError("the app stopped before it was ready")


async def _keep_saving(state: DemoState, site: Site) -> None:
    while True:
        await asyncio.sleep(SAVE_EVERY_SECONDS)
        await asyncio.to_thread(state.save, site)


def _say(text: str) -> None:
    print(text, flush=True)


def sessions_url(jira: JiraSimulator, account_id: str, session: str | None = None) -> str:
    """The project page of DEMO (its refinement sessions), or one session's page, for the
    person signed in."""
    site = jira.site(DEMO_SITE)
    extra = f"&ac.session={session}" if session else ""
    return site.origin + project_page_path(
        site, site.installation(None), site.users[account_id], extra
    )


def issue_url(jira: JiraSimulator, account_id: str, issue: str = DEMO_ISSUE) -> str:
    """The simulated issue view of `issue`, signed in as `account_id`."""
    return f"{jira.site(DEMO_SITE).base_url}/browse/{issue}?user={account_id}"


async def run_demo(
    environ: Mapping[str, str],
    *,
    jira_port: int = DEFAULT_JIRA_PORT,
    stop: asyncio.Event | None = None,
    say: Callable[[str], None] | None = None,
    ready: Callable[[JiraSimulator, Settings], Awaitable[None]] | None = None,
) -> None:
    """Run the demo until `stop` is set, SIGINT or SIGTERM (`ready` runs once it is up)."""
    stop = stop or asyncio.Event()
    say = say or _say
    data_dir = Path(environ.get("AGILETOOLBOX_DATA_DIR", "").strip() or ".agiletoolbox")
    state = DemoState(data_dir / STATE_FILE)
    jira = JiraSimulator(sites=(), session_key=state.session_key)
    site = jira.add_site(DEMO_SITE, client_key=state.client_key)
    state.restore(site)
    host = Settings.from_env(environ).host
    try:
        await jira.start(host, jira_port)
    except OSError as error:
        raise DemoError(
            f"the simulated Jira cannot listen on {host}:{jira_port} ({error.strerror}); "
            "choose another port with --jira-port"
        ) from None
    saver: asyncio.Task[None] | None = None
    try:
        settings = demo_settings(environ, jira)
        app = asyncio.create_task(serve(settings, stop=stop, drain_seconds=0.0))
        try:
            try:
                await _wait_until_ready(settings.base_url, app)
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                raise DemoError(
                    f"the app cannot listen on {settings.host}:{settings.port} (it is taken); "
                    "choose another port with AGILETOOLBOX_PORT"
                ) from None
            await jira.install(DEMO_SITE, settings.base_url)
            state.save(site)
            saver = asyncio.create_task(_keep_saving(state, site))
            say(
                "\nAgile Toolbox for Jira is running, with a simulated Jira site.\n\n"
                f"  Open the issue as Alice:  {issue_url(jira, ALICE)}\n"
                f"  and as Bob, in a second window:  {issue_url(jira, BOB)}\n"
                f"  Refinement sessions of the project:  {sessions_url(jira, ALICE)}\n\n"
                f"  The app: {settings.base_url} · its data: {settings.data_dir.resolve()}\n"
                "  Switch teammates with the menu at the top right. Press Ctrl-C to stop.\n"
            )
            if ready is not None:
                await ready(jira, settings)
        except BaseException:
            stop.set()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await app
            raise
        await app
    finally:
        if saver is not None:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
        state.save(site)
        await jira.close()


def main(environ: Mapping[str, str] | None = None, *, jira_port: int = DEFAULT_JIRA_PORT) -> None:
    """Run the demo in a fresh event loop (for the command line)."""
    asyncio.run(run_demo(os.environ if environ is None else environ, jira_port=jira_port))
