"""The connection pool: asyncpg connections lent out one at a time, and given back.

asyncpg's own pool gives a connection back through a task of its own (shielded from
cancellation, to run an asynchronous reset) and a timeout scope on every lend: about
40 µs of CPU and three turns of the event loop per unit of work, more than the statement
a vote runs. Units of work here leave nothing to reset (see `database.py`), so lending
and giving back are plain bookkeeping: a connection that comes back idle is lent again
at once; one that comes back closed, inside a transaction, or from a lend that ended on
an error that may have left it mid-statement is closed and replaced when next needed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from types import TracebackType
from typing import Any

import asyncpg

Init = Callable[[asyncpg.Connection], Awaitable[None]]
"""What every new connection runs before it is first lent (codecs, say)."""

CLEAN_ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError,)
"""Errors after which a connection is as usable as before: the server refused a
statement and said so (a transaction it aborted is rolled back by its unit of work)."""


class PoolClosed(asyncpg.InterfaceError):
    """The pool is closing: it lends nothing more."""


class ConnectionPool:
    """At most `max_size` connections to one database, `min_size` of them opened at once."""

    def __init__(self, dsn: str, *, min_size: int, max_size: int, init: Init | None = None) -> None:
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError("0 <= min_size <= max_size and max_size >= 1")
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._init = init
        self._idle: list[asyncpg.Connection] = []
        self._lent: set[asyncpg.Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closing = False
        self._all_back: asyncio.Event | None = None

    async def open(self) -> ConnectionPool:
        """Open the first `min_size` connections (failing as connecting fails)."""
        opened = await asyncio.gather(
            *(self._connect() for _ in range(self._min_size)), return_exceptions=True
        )
        for connection in opened:
            if isinstance(connection, asyncpg.Connection):
                self._idle.append(connection)
        errors = [e for e in opened if isinstance(e, BaseException)]
        if errors:
            await self.close()
            raise errors[0]
        return self

    # -- lending -----------------------------------------------------------------------

    def is_closing(self) -> bool:
        """Whether the pool was closed (or is closing): it lends nothing more."""
        return self._closing

    def get_max_size(self) -> int:
        """The most connections the pool holds."""
        return self._max_size

    def get_size(self) -> int:
        """How many connections the pool holds now (idle, lent, or being opened)."""
        return len(self._idle) + len(self._lent) + self._opening

    def acquire(self) -> _Lend:
        """A connection: `conn = await pool.acquire()` (give it back with `release`), or
        `async with pool.acquire() as conn:`."""
        return _Lend(self)

    async def _take(self) -> asyncpg.Connection:
        while True:
            if self.is_closing():
                raise PoolClosed("the connection pool is closing")
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():  # one that died idle is dropped
                    self._lent.add(connection)
                    return connection
            if self.get_size() < self._max_size:
                connection = await self._connect()
                if self.is_closing():  # closed while connecting
                    connection.terminate()
                    raise PoolClosed("the connection pool is closing")
                self._lent.add(connection)
                return connection
            waiter: asyncio.Future[asyncpg.Connection | None]
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if not waiter.done() or waiter.cancelled():
                    if waiter in self._waiters:  # unless `release` passed it over, done
                        self._waiters.remove(waiter)
                elif (handed := waiter.result()) is not None:
                    self.release(handed)  # handed over, but nobody is left to use it
                else:
                    self._wake()  # the room it was woken for goes to the next one
                raise
            if handed is not None:
                return handed  # `release` handed it over, lent
            # Woken without one: room for a new connection (or the pool is closing).

    async def _connect(self) -> asyncpg.Connection:
        self._opening += 1
        try:
            connection = await asyncpg.connect(self._dsn)
            try:
                if self._init is not None:
                    await self._init(connection)
            except BaseException:
                connection.terminate()
                raise
        except BaseException:
            self._opening -= 1
            self._wake()  # the room this one would have taken is free again
            raise
        self._opening -= 1
        return connection

    def release(self, connection: asyncpg.Connection, *, clean: bool = True) -> None:
        """Take a lent connection back. Unless it is idle and `clean` (its last statement
        ended, with a result or an error from the server), it is closed, not lent again."""
        if connection not in self._lent:
            raise asyncpg.InterfaceError("release a connection this pool lent, once")
        self._lent.discard(connection)
        if not clean or connection.is_closed() or connection.is_in_transaction():
            connection.terminate()
            self._wake()
        elif self._closing:
            self._idle.append(connection)  # `close` closes it
        else:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(connection)
                    self._lent.add(connection)  # theirs now (taken back if they are gone)
                    return
            self._idle.append(connection)
        if self._closing and not self._lent and self._all_back is not None:
            self._all_back.set()

    def _wake(self) -> None:
        """A connection went away: the first waiter may open one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # -- shortcuts -------------------------------------------------------------------------

    async def execute(self, query: str, *args: object) -> str:
        """Run a statement on a connection of the pool."""
        async with self.acquire() as connection:
            status: str = await connection.execute(query, *args)
            return status

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        """The rows of a query run on a connection of the pool."""
        async with self.acquire() as connection:
            rows: list[asyncpg.Record] = await connection.fetch(query, *args)
            return rows

    async def fetchval(self, query: str, *args: object) -> Any:
        """The first value of a query run on a connection of the pool."""
        async with self.acquire() as connection:
            return await connection.fetchval(query, *args)

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Lend nothing more, wait for every lent connection to come back, close all."""
        self._closing = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        if self._lent:
            self._all_back = asyncio.Event()
            await self._all_back.wait()
        idle, self._idle = self._idle, []
        await asyncio.gather(*(c.close() for c in idle), return_exceptions=True)

    def terminate(self) -> None:
        """Close every connection at once, lent or not."""
        self._closing = True
        for connection in [*self._idle, *self._lent]:
            connection.terminate()
        self._idle.clear()
        self._lent.clear()
        if self._all_back is not None:
            self._all_back.set()


class _Lend:
    """`pool.acquire()`: awaited, a connection; entered, one given back on exit."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._connection: asyncpg.Connection | None = None

    def __await__(self) -> Generator[Any, None, asyncpg.Connection]:
        return self._pool._take().__await__()

    async def __aenter__(self) -> asyncpg.Connection:
        self._connection = await self._pool._take()
        return self._connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.release(connection, clean=exc is None or isinstance(exc, CLEAN_ERRORS))
