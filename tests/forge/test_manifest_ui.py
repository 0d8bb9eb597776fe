"""The room page the manifest's issue panel shows, on its Forge host.

`forge/test/host.test.js` drives host.js's `forgeHost` and `forgePage` (and api.js on top
of them) with a fake `@forge/bridge`; it needs node and nothing installed. The browser
tests open the page as the Forge build lays it out (boot.js, then the same room.js Connect
runs) in Chromium, with a fake bridge module in place of the bundled one. Without node,
or Chromium and Playwright, they skip - or fail when `CI` is set.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.connect.oracles import unavailable

FORGE_DIR = Path(__file__).resolve().parents[2] / "forge"
STATIC_DIR = Path(__file__).resolve().parents[2] / "src/agiletoolbox/adapters/http/static"
REMOTE = "https://poker.example.com"


def test_the_forge_host_goes_through_the_bridge() -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed; the Forge host's tests need it")
    done = subprocess.run(  # noqa: S603 - node's own test runner on our test file, no shell
        [node, "--test", str(FORGE_DIR / "test" / "host.test.js")],
        cwd=FORGE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout
    assert "# pass 0" not in done.stdout


# -- the Forge page in a browser -------------------------------------------------------------

# A stand-in for the bundled `@forge/bridge`: records calls in `window.forgeFake.calls` and
# answers from `window.forgeFake` (set before any script of the page runs).
FAKE_BRIDGE = """
const fake = window.forgeFake;
fake.calls = [];
const NOT_FOUND = {status: 404, headers: {}, body: {error: {code: "not_found", message: "None."}}};
const NO_CONTENT = {status: 204, headers: {}, body: ""};
export async function invokeRemote(input) {
  fake.calls.push({kind: "invokeRemote", ...input});
  const found = fake.replies[`${input.method} ${input.path}`];
  if (found) return found;
  // As the app answers: an issue without a room has no content, not an error.
  return input.path.startsWith("/api/rooms?issueKey=") ? NO_CONTENT : NOT_FOUND;
}
export async function requestJira(path, init) {
  fake.calls.push({kind: "requestJira", path, method: init.method});
  const body = fake.jira[path];
  return new Response(JSON.stringify(body || {}), {status: body ? 200 : 404});
}
export function showFlag(options) {
  fake.calls.push({kind: "showFlag", ...options});
  return {close: async () => true};
}
export class Modal {
  constructor(options) { this.options = options; }
  async open() { fake.calls.push({kind: "modal", ...this.options}); }
}
export const view = {
  getContext: async () => fake.context,
  close: async () => { fake.calls.push({kind: "close"}); },
};
"""
PANEL_CONTEXT = {
    "extension": {
        "type": "jira:issuePanel",
        "issue": {"id": "10042", "key": "DEMO-7", "typeId": "10001"},
        "project": {"id": "10000", "key": "DEMO"},
    }
}
EDITMETA = {
    "fields": {
        "customfield_10016": {
            "name": "Story point estimate",
            "schema": {"type": "number"},
            "operations": ["set"],
        }
    }
}


def chromium_or_skip() -> str:
    """Debian's Chromium with Playwright; skip (or, in CI, fail) without them."""
    if importlib.util.find_spec("playwright") is None:
        unavailable("Playwright is not installed (pip install -e '.[test]')")
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("Chromium is not installed (apt-get install chromium)")
    return found


def forge_page(folder: Path) -> Path:
    """The room page as `npm run build` lays it out, with the fake bridge."""
    for source in STATIC_DIR.iterdir():
        shutil.copy(source, folder / source.name)
    shutil.copy(FORGE_DIR / "src" / "boot.js", folder / "boot.js")
    shutil.copy(FORGE_DIR / "src" / "sessions-boot.js", folder / "sessions-boot.js")
    (folder / "forge-bridge.js").write_text(FAKE_BRIDGE, encoding="utf-8")
    # Both pages in one folder (the build gives each its own, as index.html).
    for template, name in (("index.html", "index.html"), ("sessions.html", "sessions.html")):
        page = (FORGE_DIR / "src" / template).read_text(encoding="utf-8")
        page = page.replace("<!-- preloads -->", "").replace("<!-- remote -->", REMOTE)
        (folder / name).write_text(page, encoding="utf-8")
    return folder


@pytest.fixture
async def open_forge_page(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Opens the Forge room page with a given fake (`context`, `replies`, `jira`)."""
    from playwright.async_api import async_playwright

    chromium = chromium_or_skip()
    app = web.Application()
    app.router.add_static("/", forge_page(tmp_path))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )

        async def open_page(fake: dict[str, Any], html: str = "index.html") -> Any:
            page = await browser.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.add_init_script(f"window.forgeFake = {json.dumps(fake)};")
            await page.goto(f"http://127.0.0.1:{port}/{html}")
            return page

        try:
            yield open_page
        finally:
            await browser.close()
            await runner.cleanup()
    assert errors == []


async def calls(page: Any, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await page.evaluate(
        "(kind) => window.forgeFake.calls.filter((call) => call.kind === kind)", kind
    )
    return found


async def test_the_forge_page_opens_the_issues_room_through_the_bridge(
    open_forge_page: Callable[[dict[str, Any]], Any],
) -> None:
    refused = {"error": {"code": "forbidden", "message": "Only DEMO members open rooms."}}
    page = await open_forge_page(
        {
            "context": PANEL_CONTEXT,
            "replies": {"POST /api/rooms": {"status": 403, "headers": {}, "body": refused}},
            "jira": {"/rest/api/3/issue/DEMO-7/editmeta": EDITMETA},
        }
    )
    await page.get_by_role("button", name="Open the room").click()
    await page.get_by_text("Only DEMO members open rooms.").wait_for()
    remote = await calls(page, "invokeRemote")
    assert remote[0] == {
        "kind": "invokeRemote",
        "path": "/api/rooms?issueKey=DEMO-7",
        "method": "GET",
    }
    create = remote[-1]
    assert (create["path"], create["method"]) == ("/api/rooms", "POST")
    assert create["body"]["issueKey"] == "DEMO-7"
    assert create["body"]["fieldId"] == "customfield_10016"  # read from Jira by the browser
    jira = await calls(page, "requestJira")
    assert {
        "kind": "requestJira",
        "path": "/rest/api/3/issue/DEMO-7/editmeta",
        "method": "GET",
    } in jira
    room = page.locator("#room")
    assert await room.get_attribute("data-issue-key") == "DEMO-7"
    assert await room.get_attribute("data-issue-type-id") == "10001"


async def test_the_forge_page_lays_itself_out_as_a_dialog_in_a_modal(
    open_forge_page: Callable[[dict[str, Any]], Any],
) -> None:
    page = await open_forge_page(
        {
            "context": {"extension": {"modal": {"issueKey": "DEMO-7", "view": "dialog"}}},
            "replies": {},
            "jira": {},
        }
    )
    await page.get_by_role("button", name="Open the room").wait_for()
    assert "view-dialog" in (await page.locator("body").get_attribute("class") or "")


async def test_the_forge_page_without_an_issue_says_so(
    open_forge_page: Callable[[dict[str, Any]], Any],
) -> None:
    page = await open_forge_page({"context": {"extension": {}}, "replies": {}, "jira": {}})
    await page.get_by_role("alert").get_by_text("Jira did not say which issue this is").wait_for()
    assert await calls(page, "invokeRemote") == []


PROJECT_CONTEXT = {
    "extension": {"type": "jira:projectPage", "project": {"id": "10000", "key": "DEMO"}}
}
SESSION_LINE = {
    "id": "s" * 22,
    "projectKey": "DEMO",
    "owner": "557058:ana",
    "mode": "live",
    "state": "running",
    "createdAt": "2026-12-04T10:00:00Z",
    "issues": 12,
    "estimated": 7,
}


async def test_the_forge_project_page_lists_the_projects_sessions_through_the_bridge(
    open_forge_page: Callable[..., Any],
) -> None:
    listed = {"status": 200, "headers": {}, "body": {"sessions": [SESSION_LINE]}}
    page = await open_forge_page(
        {
            "context": PROJECT_CONTEXT,
            "replies": {"GET /api/sessions?projectKey=DEMO": listed},
            "jira": {},
        },
        "sessions.html",
    )
    await page.get_by_text("7 of 12 estimated").wait_for()
    remote = await calls(page, "invokeRemote")
    assert remote[0] == {
        "kind": "invokeRemote",
        "path": "/api/sessions?projectKey=DEMO",
        "method": "GET",
    }
    assert await page.locator("#sessions").get_attribute("data-project-key") == "DEMO"


async def test_the_forge_project_page_without_a_project_says_so(
    open_forge_page: Callable[..., Any],
) -> None:
    page = await open_forge_page(
        {"context": {"extension": {}}, "replies": {}, "jira": {}}, "sessions.html"
    )
    await page.get_by_role("alert").get_by_text("Jira did not say which project").wait_for()
    assert await calls(page, "invokeRemote") == []
