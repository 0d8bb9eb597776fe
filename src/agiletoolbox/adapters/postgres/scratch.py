"""Scratch PostgreSQL databases for the tests and the benchmarks: which server, and a
fresh database on it.

Server: `AGILETOOLBOX_TEST_DATABASE_URL`, else the local server at 127.0.0.1:5432 (user
`postgres`) when it answers, else an embedded one in a temporary directory. Each user of
it creates its own database with a random name, migrates it, and drops it at the end.

It lives in the package rather than under `tests/` so that the benchmarks run after a
plain `pip install -e .`, without the test tree on the path. The server never imports it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from agiletoolbox.adapters.postgres.database import connect
from agiletoolbox.adapters.postgres.embedded import EmbeddedPostgres
from agiletoolbox.adapters.postgres.schema import migrate

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
"""The local server tried when no URL is configured (trust authentication expected)."""

SERVER_VARIABLE = "AGILETOOLBOX_TEST_DATABASE_URL"
"""The environment variable naming the server to use, when set."""

T = TypeVar("T")


def run_sync(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a loop of its own, in a thread of its own.

    The callers may already be inside a running loop (a test fixture first requested by
    an async one, a benchmark's `main`), where `asyncio.run` is refused.
    """
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(lambda: asyncio.run(work())).result()


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead: the same server, user and options."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a server to create scratch databases on, for the duration of the block.

    An embedded server, the last resort, is started for the block and stopped after it,
    so a machine without PostgreSQL still runs everything.
    """
    configured = os.environ.get(SERVER_VARIABLE)
    if configured:
        yield configured
        return
    if run_sync(lambda: _answers(LOCAL)):
        yield LOCAL
        return
    with tempfile.TemporaryDirectory(prefix="agiletoolbox-pg-") as folder:
        server = EmbeddedPostgres(Path(folder))
        url = run_sync(server.start)
        try:
            yield url
        finally:
            run_sync(server.stop)


async def create_database(server: str, *, migrated: bool = True) -> str:
    """A new database with a random name on `server` (migrated unless told otherwise).

    The random name lets several runs share one server at the same time.
    """
    name = f"agiletoolbox_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server, name)
    if migrated:
        connection = await connect(url)
        try:
            await migrate(connection)
        finally:
            await connection.close()
    return url


async def drop_database(server: str, url: str) -> None:
    """Drop the database of `url`, disconnecting whoever still uses it."""
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A migrated database for the duration of the block, dropped after it."""
    url = run_sync(lambda: create_database(server))
    try:
        yield url
    finally:
        run_sync(lambda: drop_database(server, url))


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A migrated database on the server `postgres_server` chooses, for the duration of
    the block (a benchmark's run), dropped after it."""
    with postgres_server() as server:
        url = await create_database(server)
        try:
            yield url
        finally:
            await drop_database(server, url)
