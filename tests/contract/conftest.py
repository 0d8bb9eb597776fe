"""Fixtures of the contract suite: every repository port, on memory and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from agiletoolbox.adapters.memory import MemoryStore
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.ports import UnitOfWorkFactory
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


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def uow(request: pytest.FixtureRequest) -> AsyncIterator[UnitOfWorkFactory]:
    """A unit-of-work factory over an empty store of either kind."""
    if request.param == "memory":
        yield MemoryStore().unit_of_work
        return
    url: str = request.getfixturevalue("database_url")
    async with open_pool(url, min_size=1, max_size=4) as pool:
        async with pool.acquire() as connection:
            await clean(connection)
            # Tokens hang off no foreign key, so emptying the tenants leaves them.
            await connection.execute("TRUNCATE forge_tokens")
        yield PostgresDatabase(pool, KeyRing.generate()).unit_of_work
