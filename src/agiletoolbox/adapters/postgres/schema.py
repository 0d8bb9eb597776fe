"""Numbered plain-SQL migrations, applied in order, each in its own transaction.

The files are `migrations/NNNN_name.sql` inside this package (shipped in the wheel, read
with `importlib.resources`). Each one runs in a transaction that also inserts its row into
`schema_version`, so a migration is applied entirely or not at all. A session-level
advisory lock serialises concurrent `migrate` runs (two processes starting together), and
a database already migrated by a newer app is refused rather than written to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib.resources import files

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from attrs import frozen

from agiletoolbox.adapters.postgres.errors import SchemaTooNew, SchemaTooOld

# Any fixed number will do, as long as nothing else in the database uses it.
Connection = asyncpg.Connection | PoolConnectionProxy
"""A plain connection or one lent by a pool."""

ADVISORY_LOCK = 0x61676C74  # "aglt"
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")

_CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@frozen
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def known_migrations() -> list[Migration]:
    """Every migration shipped with this version of the app, in order."""
    folder = files("agiletoolbox.adapters.postgres").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError("the migrations must be numbered 0001, 0002, ... without gaps")
    return found


def latest_version() -> int:
    """The schema version this app is written for."""
    return len(known_migrations())


async def current_version(connection: Connection) -> int:
    """The database's schema version (0 when it was never migrated)."""
    exists = await connection.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    version = await connection.fetchval("SELECT max(version) FROM schema_version")
    return int(version or 0)


async def migrate(connection: Connection) -> Sequence[Migration]:
    """Apply every migration the database lacks; returns those applied (none: a no-op)."""
    migrations = known_migrations()
    await connection.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK)
    try:
        await connection.execute(_CREATE_VERSION_TABLE)
        current = await current_version(connection)
        _refuse_newer(current, len(migrations))
        applied: list[Migration] = []
        for migration in migrations[current:]:
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied.append(migration)
        return applied
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK)


async def require_current(connection: Connection) -> int:
    """Return the schema version when it is exactly the one this app knows; refuse otherwise."""
    current = await current_version(connection)
    known = latest_version()
    _refuse_newer(current, known)
    if current < known:
        raise SchemaTooOld(
            f"the database schema is at version {current}, this app needs {known}: "
            "run `agiletoolbox migrate`"
        )
    return current


def _refuse_newer(current: int, known: int) -> None:
    if current > known:
        raise SchemaTooNew(
            f"the database schema is at version {current}, newer than this app knows "
            f"({known}); upgrade the app instead of running an older one against it"
        )
