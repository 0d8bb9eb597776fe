"""The PostgreSQL the tests use, a fresh database for each test run, and table helpers.

Choosing the server and making scratch databases is shared with the benchmarks, so it
lives in the package (`agiletoolbox.adapters.postgres.scratch`, re-exported here for the
tests that import it from this module): `AGILETOOLBOX_TEST_DATABASE_URL`, else the local
server at 127.0.0.1:5432 (user `postgres`) when it answers, else an embedded one in a
temporary directory. Each run creates its own database with a random name, migrates it,
and drops it at the end.
"""

from __future__ import annotations

import asyncpg

from agiletoolbox.adapters.postgres.scratch import (
    LOCAL,
    create_database,
    drop_database,
    fresh_database,
    postgres_server,
    run_sync,
    with_database,
)

__all__ = [
    "LOCAL",
    "clean",
    "create_database",
    "drop_database",
    "every_row_as_text",
    "fresh_database",
    "postgres_server",
    "run_sync",
    "with_database",
]

_EVERY_TABLE = """
SELECT string_agg(quote_ident(tablename), ', ')
FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_version'
"""


async def clean(connection: asyncpg.Connection) -> None:
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
