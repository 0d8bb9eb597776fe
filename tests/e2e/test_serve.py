"""`agiletoolbox serve` as an operator runs it: starts, serves, drains on SIGTERM."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import free_port

pytestmark = pytest.mark.postgres


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGILETOOLBOX_")}
    env.update({f"AGILETOOLBOX_{k.upper()}": v for k, v in settings.items()})
    env.setdefault("AGILETOOLBOX_DATA_DIR", str(tmp_path))
    return env


async def run(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agiletoolbox",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_until_up(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if process.returncode is not None:
                raise AssertionError((await process.communicate())[1].decode())
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise AssertionError("the server did not come up")


async def test_serve_starts_answers_and_drains(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = environment(
        tmp_path,
        env="test",
        port=str(port),
        base_url=url,
        database_url=database_url,
        secret_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    process = await run(env, "serve")
    try:
        await wait_until_up(url, process)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/readyz") as response:
                assert response.status == 200
            async with session.get(f"{url}/atlassian-connect.json") as response:
                descriptor = await response.json()
                assert descriptor["baseUrl"] == url
            async with session.get(f"{url}/api/rooms?issueKey=DEMO-1&jwt=secret.token.here") as r:
                assert r.status == 401
            # The collector's pauses are measured from start-up on.
            async with session.get(f"{url}/metrics") as response:
                metrics = await response.text()
            assert 'agiletoolbox_gc_pause_seconds_count{generation="2"}' in metrics
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert "stopped" in log
    assert "secret.token.here" not in log, "tokens in URLs never reach a log line"


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"base_url": "http://poker.example.com"}, "https"),
        ({"base_url": "https://poker.example.com"}, "SECRET_KEY"),
        ({"base_url": "https://poker.example.com", "secret_key": "x" * 44}, "DATABASE_URL"),
    ],
)
async def test_production_refuses_unsafe_settings(
    tmp_path: Path, settings: dict[str, str], complaint: str
) -> None:
    process = await run(environment(tmp_path, env="production", **settings), "serve")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert complaint in stderr.decode()
