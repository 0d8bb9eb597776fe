"""Start-up and shut-down of the database, as the composition root wires it.

`database_resource` is what `serve` needs: the database URL (configured, or an embedded
server for as long as the app runs), the schema brought up to date (or checked), the keys
for secrets at rest, and the pool. The room event bus is a separate resource
(`event_bus_resource(database.url)`) because it holds a connection of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agiletoolbox.adapters.postgres.database import PostgresDatabase, connect, open_pool
from agiletoolbox.adapters.postgres.embedded import database_url
from agiletoolbox.adapters.postgres.encryption import key_ring
from agiletoolbox.adapters.postgres.schema import migrate, require_current
from agiletoolbox.settings import Settings


async def database_resource(
    settings: Settings, *, apply_migrations: bool = True, pool_size: int = 10
) -> AsyncIterator[PostgresDatabase]:
    """The deployment's database for the life of the app (for a `Resource` provider).

    Refuses to start (`SchemaTooNew`) on a schema newer than this app, and without
    `apply_migrations` also on an older one (`SchemaTooOld`); a production deployment
    without `AGILETOOLBOX_SECRET_KEY` stops here with `SecretKeyError`.
    """
    keys = key_ring(settings.secret_key, production=settings.production, data_dir=settings.data_dir)
    async with database_url(settings) as url:
        connection = await connect(url)
        try:
            if apply_migrations:
                await migrate(connection)
            else:
                await require_current(connection)
        finally:
            await connection.close()
        async with open_pool(url, min_size=min(2, pool_size), max_size=pool_size) as pool:
            yield PostgresDatabase(pool, keys, url=url)


open_database = asynccontextmanager(database_resource)
"""`async with open_database(settings) as database:` - the same resource as a context manager."""
