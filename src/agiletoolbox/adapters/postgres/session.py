"""The unit of work's connection, and its transaction, begun with the first write.

Reads before the first write run outside an explicit transaction: under READ COMMITTED
(PostgreSQL's default, which the unit of work uses) every statement sees a fresh snapshot
of committed data anyway, so a `BEGIN` in front of them would change nothing but cost a
round trip. The first write begins the transaction, and everything written after it is
committed or rolled back together. A unit of work whose only write is one statement at
commit runs it on its own, which PostgreSQL makes atomic by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction

from agiletoolbox.adapters.postgres.errors import (
    RETRYABLE,
    UNAVAILABLE,
    StorageUnavailable,
    storage_errors,
)
from agiletoolbox.adapters.postgres.pool import ConnectionPool
from agiletoolbox.domain.errors import ConcurrentChange

RELEASE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
"""What giving back or probing a broken connection may raise (the pool copes with it)."""


class Session:
    """One pooled connection for one unit of work."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._connection: asyncpg.Connection | None = None
        self._transaction: Transaction | None = None
        self._used = False
        # Whether a call on the connection is under way, or was cut off (cancelled, timed
        # out, lost): such a connection goes back to the pool to be closed, not lent again.
        self._busy = False

    @property
    def in_transaction(self) -> bool:
        """Whether a write began a transaction that is not yet committed or rolled back."""
        return self._transaction is not None

    async def acquire(self) -> None:
        """Take a connection from the pool."""
        # Every unit of work passes here: a plain `try` costs less than `storage_errors()`.
        try:
            self._connection = await self._pool.acquire()
        except UNAVAILABLE as exc:
            raise StorageUnavailable("the database is not available") from exc

    async def _call(self, method: str, query: str, args: tuple[Any, ...], *, begin: bool) -> Any:
        # Until a statement succeeded nothing is lost by swapping the connection: one that
        # died idle in the pool (a restart, a terminated backend) is replaced on the next
        # acquire, and after a restart every idle one may be dead.
        attempts = 1 if self._used else self._pool.get_max_size() + 1
        for attempt in range(1, attempts + 1):
            if self._connection is None:
                raise RuntimeError("use the unit of work inside `async with`")
            self._busy = True
            try:
                if begin and self._transaction is None:
                    transaction = self._connection.transaction()
                    await transaction.start()
                    self._transaction = transaction
                result = await getattr(self._connection, method)(query, *args)
            except RETRYABLE as exc:
                self._busy = False
                raise ConcurrentChange("the room changed meanwhile") from exc
            except UNAVAILABLE as exc:
                # Still busy: the pool closes the connection rather than lend it again.
                if attempt == attempts:
                    raise StorageUnavailable("the database is not available") from exc
                self.release()
                await self.acquire()
                continue
            except asyncpg.PostgresError:
                self._busy = False  # the server refused the statement: nothing else amiss
                raise
            self._busy = False
            self._used = True
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def fetch(self, query: str, *args: object) -> Awaitable[list[asyncpg.Record]]:
        """Rows of a read (or of a write that is a transaction by itself). The awaitable
        is handed over, not awaited in a frame of its own: a room's write runs here."""
        rows: Awaitable[list[asyncpg.Record]] = self._call("fetch", query, args, begin=False)
        return rows

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        """The first row of a read, or None."""
        row: asyncpg.Record | None = await self._call("fetchrow", query, args, begin=False)
        return row

    async def write(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Run a writing statement inside the transaction (begun now if need be)."""
        rows: list[asyncpg.Record] = await self._call("fetch", query, args, begin=True)
        return rows

    async def commit(self) -> None:
        """Commit the open transaction, if any; the next write begins a new one."""
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            self._busy = True
            with storage_errors():
                await transaction.commit()
            self._busy = False

    async def rollback(self) -> None:
        """Roll the open transaction back, if any."""
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            self._busy = True
            with storage_errors():
                await transaction.rollback()
            self._busy = False

    def release(self) -> None:
        """Give the connection back: to be lent again, or closed when a call on it was cut
        off or it is still inside a transaction (the pool opens another when needed)."""
        connection, self._connection = self._connection, None
        self._transaction = None
        if connection is not None:
            self._pool.release(connection, clean=not self._busy)
        self._busy = False
