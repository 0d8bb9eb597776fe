"""`agiletoolbox demo`: one command, the app and a simulated Jira; data kept between runs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agiletoolbox.demo import STATE_FILE, DemoError, demo_settings, run_demo
from agiletoolbox.settings import Environment, Settings
from agiletoolbox.simulator import ALICE, STORY_POINTS_FIELD, JiraSimulator
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.postgres


def environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "AGILETOOLBOX_DATA_DIR": str(tmp_path),
        "AGILETOOLBOX_DATABASE_URL": database_url,
        "AGILETOOLBOX_PORT": str(free_port()),
    }


async def as_alice(
    session: aiohttp.ClientSession, jira: JiraSimulator, method: str, url: str, **body: Any
) -> Any:
    token = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    headers = {"Authorization": f"JWT {token}"}
    async with session.request(method, url, json=body or None, headers=headers) as response:
        assert response.status < 300, await response.text()
        return await response.json()


async def test_the_demo_keeps_its_site_rooms_and_estimates_between_runs(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path, database_url)
    jira_port = free_port()
    seen: dict[str, Any] = {}
    printed: list[str] = []

    async def first_run(jira: JiraSimulator, settings: Settings) -> None:
        api = settings.base_url + "/api/rooms"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{jira.site('acme').base_url}/browse/DEMO-1") as page:
                assert page.status == 200
                assert "Agile Toolbox for Jira" in await page.text()
            sessions = re.search(r"Refinement sessions of the project:\s+(\S+)", "".join(printed))
            assert sessions is not None, printed
            async with session.get(sessions.group(1)) as page:
                assert page.status == 200
                assert 'data-module="sessions"' in await page.text()
            room = await as_alice(
                session, jira, "POST", api, issueKey="DEMO-1", fieldId=STORY_POINTS_FIELD
            )
            await as_alice(session, jira, "PUT", f"{api}/{room['id']}/vote", card="5")
            await as_alice(session, jira, "POST", f"{api}/{room['id']}/reveal")
            await as_alice(session, jira, "POST", f"{api}/{room['id']}/estimate", value="5")
        seen.update(room=room["id"], client_key=jira.site("acme").client_key)
        first_stop.set()

    async def second_run(jira: JiraSimulator, settings: Settings) -> None:
        url = settings.base_url + "/api/rooms?issueKey=DEMO-1"
        async with aiohttp.ClientSession() as session:
            room = await as_alice(session, jira, "GET", url)
        seen.update(again=room["id"], client_key_again=jira.site("acme").client_key)
        seen["estimate"] = jira.field_value("acme", "DEMO-1", STORY_POINTS_FIELD)
        second_stop.set()

    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    await run_demo(env, jira_port=jira_port, stop=first_stop, say=printed.append, ready=first_run)
    await run_demo(env, jira_port=jira_port, stop=second_stop, say=printed.append, ready=second_run)

    assert seen["again"] == seen["room"]
    assert seen["client_key_again"] == seen["client_key"]
    assert seen["estimate"] == 5
    assert f"http://127.0.0.1:{jira_port}/sites/acme/browse/DEMO-1?user={ALICE}" in printed[0]
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["values"]["DEMO-1"][STORY_POINTS_FIELD] == 5


def test_the_demo_is_for_development_only() -> None:
    jira = JiraSimulator(origin="http://127.0.0.1:9")
    with pytest.raises(DemoError, match="development only"):
        demo_settings(
            {
                "AGILETOOLBOX_ENV": "production",
                "AGILETOOLBOX_SECRET_KEY": "x" * 44,
                "AGILETOOLBOX_DATABASE_URL": "postgresql://db/x",
                "AGILETOOLBOX_BASE_URL": "https://app.example",
            },
            jira,
        )
    settings = demo_settings({"AGILETOOLBOX_ENV": "test", "AGILETOOLBOX_PORT": "9099"}, jira)
    assert settings.env is Environment.DEVELOPMENT
    assert settings.base_url == "http://127.0.0.1:9099"
    assert settings.install_keys_url == "http://127.0.0.1:9/install-keys"


async def test_one_command_runs_it_and_ctrl_c_stops_it(tmp_path: Path, database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGILETOOLBOX_")}
    env.update(environment(tmp_path, database_url))
    jira_port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agiletoolbox",
        "demo",
        "--jira-port",
        str(jira_port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        url = await asyncio.wait_for(_url_printed(process.stdout), timeout=120)
        async with aiohttp.ClientSession() as session, session.get(url) as page:
            assert page.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert "stopped" in err.decode()


async def _url_printed(stdout: asyncio.StreamReader) -> str:
    while line := (await stdout.readline()).decode():
        found = re.search(r"Open the issue as Alice:\s+(\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("the demo printed no URL")


async def test_a_taken_port_is_named(tmp_path: Path, database_url: str) -> None:
    env = environment(tmp_path, database_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["AGILETOOLBOX_PORT"])))
        taken.listen()
        with pytest.raises(DemoError, match="choose another port with AGILETOOLBOX_PORT"):
            await run_demo(env, jira_port=free_port(), say=lambda _text: None)
        with pytest.raises(DemoError, match="--jira-port"):
            await run_demo(env, jira_port=taken.getsockname()[1], say=lambda _text: None)
