"""The connection pool and the unit of work over it.

A unit of work holds one pooled connection and one transaction: the transaction begins
with the first write (reads before it see committed data exactly as they would inside a
READ COMMITTED transaction, see `session.py`), ends with `commit()`, and anything not
committed is rolled back when the block ends. Room saves are written at commit (see
`rooms.py`); the other repositories write into the transaction as they go.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import Generic, Self, TypeVar

import asyncpg

from agiletoolbox.adapters.postgres.encryption import KeyRing
from agiletoolbox.adapters.postgres.errors import StorageUnavailable, storage_errors
from agiletoolbox.adapters.postgres.forge_tokens import PostgresSystemTokenRepository
from agiletoolbox.adapters.postgres.pool import ConnectionPool
from agiletoolbox.adapters.postgres.records import (
    PostgresDefaultsRepository,
    PostgresErrorReportRepository,
    PostgresReportCycleRepository,
    PostgresTenantRepository,
)
from agiletoolbox.adapters.postgres.residency import (
    PostgresArrivalRepository,
    PostgresMigrationRepository,
)
from agiletoolbox.adapters.postgres.rooms import PostgresRoomRepository
from agiletoolbox.adapters.postgres.schema import require_current
from agiletoolbox.adapters.postgres.session import RELEASE_ERRORS, Session
from agiletoolbox.adapters.postgres.sessions import PostgresSessionRepository

CLOSE_TIMEOUT = 10.0
READY_TIMEOUT = 2.0
_NOT_READY: tuple[type[BaseException], ...] = (*RELEASE_ERRORS, StorageUnavailable)


async def _prepare(connection: asyncpg.Connection) -> None:
    # jsonb in and out as Python values, so rows carry dicts rather than JSON text.
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False),
        decoder=json.loads,
        schema="pg_catalog",
    )


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection outside the pool (migrations, the listener, operators' commands)."""
    with storage_errors():
        connection = await asyncpg.connect(dsn)
    await _prepare(connection)
    return connection


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> ConnectionPool:
    """A new pool; the caller closes it (prefer `pool_resource` or `open_pool`)."""
    with storage_errors():
        return await ConnectionPool(dsn, min_size=min_size, max_size=max_size, init=_prepare).open()


async def close_pool(pool: ConnectionPool) -> None:
    """Close the pool, waiting `CLOSE_TIMEOUT` seconds for connections in use."""
    try:
        await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
    except TimeoutError:
        # A connection still busy after the grace period: shut it hard, don't hang.
        pool.terminate()


async def pool_resource(
    dsn: str, *, min_size: int = 2, max_size: int = 10
) -> AsyncIterator[ConnectionPool]:
    """The pool as a lifecycle resource (an async generator, for a `Resource` provider)."""
    pool = await create_pool(dsn, min_size=min_size, max_size=max_size)
    try:
        yield pool
    finally:
        await close_pool(pool)


open_pool = asynccontextmanager(pool_resource)
"""`async with open_pool(dsn) as pool:` - the same resource as a context manager."""


R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository of a unit of work, made when first used (most units of work use one or
    two of them); the instance's own attribute then answers every later use.
    (`functools.cached_property` would do, but takes a lock on every first use.)"""

    def __init__(self, make: Callable[[Session, KeyRing], R]) -> None:
        self._make = make
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, uow: PostgresUnitOfWork, owner: type | None = None) -> R:
        made = self._make(uow._session, uow._keys)
        uow.__dict__[self._name] = made
        return made


class PostgresUnitOfWork:
    """One transaction over every repository; rolls back unless committed."""

    rooms = _Repository(lambda session, _keys: PostgresRoomRepository(session))
    tenants = _Repository(PostgresTenantRepository)
    defaults = _Repository(lambda session, _keys: PostgresDefaultsRepository(session))
    error_reports = _Repository(lambda session, _keys: PostgresErrorReportRepository(session))
    report_cycles = _Repository(lambda session, _keys: PostgresReportCycleRepository(session))
    system_tokens = _Repository(PostgresSystemTokenRepository)
    migrations = _Repository(lambda session, _keys: PostgresMigrationRepository(session))
    arrivals = _Repository(lambda session, _keys: PostgresArrivalRepository(session))
    sessions = _Repository(lambda session, _keys: PostgresSessionRepository(session))

    def __init__(self, pool: ConnectionPool, keys: KeyRing) -> None:
        self._pool = pool
        self._keys = keys
        self._session = Session(pool)
        self._fresh = True

    def _begin(self) -> None:
        """Forget the repositories and what they staged: the next use starts afresh."""
        for name, value in list(vars(type(self)).items()):
            if isinstance(value, _Repository):
                self.__dict__.pop(name, None)

    async def __aenter__(self) -> Self:
        if not self._fresh:
            # Entered again after an earlier block: start from a clean slate.
            self._session = Session(self._pool)
            self._begin()
        self._fresh = False
        await self._session.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                await self._session.rollback()
            else:
                # Leaving on an error: the rollback is a courtesy, the error is the news.
                with suppress(StorageUnavailable):
                    await self._session.rollback()
        finally:
            self._session.release()

    async def commit(self) -> None:
        """Write the staged rooms (version-checked), then commit the transaction."""
        try:
            if "rooms" in self.__dict__:  # no room was used: none to write
                await self.rooms.flush(alone=not self._session.in_transaction)
            await self._session.commit()
        except BaseException:
            with suppress(StorageUnavailable):
                await self._session.rollback()
            self._begin()
            raise

    async def rollback(self) -> None:
        """Discard every change of this unit of work (the saved rooms' events go too)."""
        await self._session.rollback()
        self._begin()


class PostgresDatabase:
    """A deployment's database: the pool, the keys secrets are encrypted under, its URL."""

    def __init__(self, pool: ConnectionPool, keys: KeyRing, *, url: str | None = None) -> None:
        self.pool = pool
        self.keys = keys
        self.url = url
        """Where the pool connects (for the listener's own connection), when known."""

    def unit_of_work(self) -> PostgresUnitOfWork:
        """A new unit of work (the `UnitOfWorkFactory` the services take)."""
        return PostgresUnitOfWork(self.pool, self.keys)

    async def require_schema(self) -> int:
        """The schema version, when it is the one this app knows; `SchemaError` otherwise."""
        async with self.pool.acquire() as connection:
            return await require_current(connection)

    async def ready(self) -> bool:
        """Whether the database answers within `READY_TIMEOUT` seconds (for `/readyz`)."""
        try:
            async with asyncio.timeout(READY_TIMEOUT), self.pool.acquire() as connection:
                await connection.fetchval("SELECT 1")
        except _NOT_READY:
            return False
        return True
