"""The PostgreSQL the tests use, and a fresh database for each test run.

Server: `AGILETOOLBOX_TEST_DATABASE_URL`, else the local server at 127.0.0.1:5432 (user
`postgres`) when it answers, else an embedded one in a temporary directory. Each run creates
its own database with a random name, migrates it, and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from agiletoolbox.adapters.postgres import EmbeddedPostgres, connect, migrate

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
_EVERY_TABLE = """
SELECT string_agg(quote_ident(tablename), ', ')
FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_version'
"""


T = TypeVar("T")


def run_sync(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a loop of its own, in a thread of its own.

    Session fixtures may be first requested from inside a running test loop (an async
    fixture asking for them), where `asyncio.run` is refused.
    """
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(lambda: asyncio.run(work())).result()


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
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
    """The URL of a server the tests may create databases on."""
    configured = os.environ.get("AGILETOOLBOX_TEST_DATABASE_URL")
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
    """A new database with a random name on `server` (migrated unless told otherwise)."""
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
    """A migrated database for the duration of the block."""
    url = run_sync(lambda: create_database(server))
    try:
        yield url
    finally:
        run_sync(lambda: drop_database(server, url))


async def clean(connection: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy) -> None:
    """Empty every table but the schema's version (tests share one database per run)."""
    tables = await connection.fetchval(_EVERY_TABLE)
    await connection.execute(f"TRUNCATE {tables}")


async def every_row_as_text(url: str) -> list[str]:
    """Every row of every table in the database, each as PostgreSQL's text of the row."""
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT quote_ident(table_name) AS name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        rows: list[str] = []
        for table in tables:
            # The name comes from the catalogue, quoted by quote_ident.
            query = f"SELECT t::text AS row FROM {table['name']} AS t"  # noqa: S608
            found = await connection.fetch(query)
            rows += [row["row"] for row in found]
        return rows
    finally:
        await connection.close()
