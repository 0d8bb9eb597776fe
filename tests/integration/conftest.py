"""Fixtures for tests that need PostgreSQL: one fresh database per run, a pool per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.adapters.postgres.pool import ConnectionPool
from tests.integration.database import clean, fresh_database, postgres_server


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A server the tests may create databases on."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """This run's own migrated database, dropped at the end."""
    with fresh_database(postgres_server_url) as url:
        yield url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[ConnectionPool]:
    """A pool on the run's database, every table emptied first."""
    async with open_pool(database_url, min_size=1, max_size=4) as opened:
        async with opened.acquire() as connection:
            await clean(connection)
        yield opened


@pytest.fixture
def keys() -> KeyRing:
    """A fresh key ring for secrets at rest."""
    return KeyRing.generate()


@pytest.fixture
def database(pool: ConnectionPool, keys: KeyRing) -> PostgresDatabase:
    """The PostgreSQL adapter over the test pool."""
    return PostgresDatabase(pool, keys)
