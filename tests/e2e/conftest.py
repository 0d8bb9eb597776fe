"""End-to-end fixtures: the real composition root on PostgreSQL, a simulated Jira."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agiletoolbox.adapters.http.access_log import PathOnlyAccessLogger
from agiletoolbox.adapters.postgres import open_pool
from agiletoolbox.containers import Container
from agiletoolbox.settings import Environment, Settings
from agiletoolbox.simulator import JiraSimulator
from tests.integration.conftest import database_url, postgres_server_url
from tests.integration.database import clean

__all__ = ["database_url", "postgres_server_url"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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


@asynccontextmanager
async def serve_processes(
    jira: JiraSimulator,
    database_url: str,
    folder: Path,
    names: tuple[str, ...],
    each: Mapping[str, Mapping[str, str]] | None = None,
    **extra: str,
) -> AsyncIterator[tuple[ServeProcess, ...]]:
    """One `serve` process per name on one database, with one secret key and one public
    base URL (the first's: Jira knows one base URL for the app, and every process verifies
    tokens against it), started on empty tables and up; stopped when the block ends.
    `extra`: more settings, such as `deadline_check_seconds`; `each`: settings of one
    process (by name), such as its `event_loop`."""
    first = free_port()
    settings = {
        "env": "test",
        "base_url": f"http://127.0.0.1:{first}",
        "database_url": database_url,
        "secret_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "install_keys_url": jira.install_keys_url,
        "personal_data_url": jira.personal_data_url,
        **extra,
    }
    # Start on empty tables (other tests' tenants are under other keys).
    async with open_pool(database_url, min_size=1, max_size=1) as pool, pool.acquire() as c:
        await clean(c)
    ports = [first, *(free_port() for _ in names[1:])]
    processes = tuple(
        ServeProcess(name, port, {**settings, **(each or {}).get(name, {})}, folder)
        for name, port in zip(names, ports, strict=True)
    )
    try:
        await asyncio.gather(*(process.start() for process in processes))
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(process.wait_until_up(session) for process in processes))
        yield processes
    finally:
        await asyncio.gather(*(process.stop() for process in processes))


class Deployment:
    """The app as `serve` runs it, on a port of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.base_url
        self.container = Container(settings=settings)
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        await self.container.init_resources()
        app = await self.container.app()  # type: ignore[misc]
        self.runner = web.AppRunner(app, access_log_class=PathOnlyAccessLogger)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.settings.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        await self.container.shutdown_resources()  # type: ignore[misc]


@pytest.fixture
async def jira() -> AsyncIterator[JiraSimulator]:
    async with JiraSimulator() as simulator:
        yield simulator


@asynccontextmanager
async def deployed(
    jira: JiraSimulator, database_url: str, data_dir: Path, **settings: Any
) -> AsyncIterator[Deployment]:
    """The app as `serve` runs it against `jira`, on the run's database; `settings` adds
    to the test settings (Forge's, say)."""
    port = free_port()
    app = Deployment(
        Settings(
            env=Environment.TEST,
            port=port,
            base_url=f"http://127.0.0.1:{port}",
            database_url=database_url,
            data_dir=data_dir,
            secret_key=base64.b64encode(secrets.token_bytes(32)).decode(),
            install_keys_url=jira.install_keys_url,
            personal_data_url=jira.personal_data_url,
            **settings,
        )
    )
    # The run's database is shared: start every deployment on empty tables (and without
    # other tests' tenants, whose secrets are under other keys). Forge tokens hang off no
    # foreign key, so emptying the tenants leaves them.
    async with open_pool(database_url, min_size=1, max_size=1) as pool, pool.acquire() as c:
        await clean(c)
        await c.execute("TRUNCATE forge_tokens")
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def deployment(
    jira: JiraSimulator, database_url: str, tmp_path: Path
) -> AsyncIterator[Deployment]:
    async with deployed(jira, database_url, tmp_path) as app:
        yield app
