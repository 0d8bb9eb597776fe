"""The connection pool on a real PostgreSQL: lending, giving back, waiting, faults."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest

from agiletoolbox.adapters.postgres.pool import ConnectionPool, PoolClosed

pytestmark = pytest.mark.postgres


@pytest.fixture
async def two(database_url: str) -> AsyncIterator[ConnectionPool]:
    """A pool of at most two connections, one opened at once."""
    pool = await ConnectionPool(database_url, min_size=1, max_size=2).open()
    try:
        yield pool
    finally:
        pool.terminate()


async def _backend(connection: asyncpg.Connection) -> int:
    pid: int = await connection.fetchval("SELECT pg_backend_pid()")
    return pid


async def _take(pool: ConnectionPool) -> asyncpg.Connection:
    connection: asyncpg.Connection = await pool.acquire()
    return connection


async def _waiting(task: asyncio.Task[asyncpg.Connection]) -> bool:
    await asyncio.sleep(0.05)
    return not task.done()


async def test_a_connection_given_back_is_lent_again(two: ConnectionPool) -> None:
    first = await two.acquire()
    backend = await _backend(first)
    two.release(first)
    again = await two.acquire()
    assert again is first
    assert await _backend(again) == backend
    two.release(again)
    assert two.get_size() == 1


async def test_no_more_than_max_size_and_waiters_are_served_in_order(
    two: ConnectionPool,
) -> None:
    a, b = await two.acquire(), await two.acquire()
    assert two.get_size() == 2
    first, second = asyncio.create_task(_take(two)), asyncio.create_task(_take(two))
    assert await _waiting(first)
    assert await _waiting(second)
    assert two.get_size() == 2
    two.release(a)
    assert await asyncio.wait_for(first, 1) is a
    assert await _waiting(second)
    two.release(b)
    assert await asyncio.wait_for(second, 1) is b
    assert two.get_size() == 2


async def test_a_waiter_that_gives_up_takes_nothing_with_it(two: ConnectionPool) -> None:
    a, b = await two.acquire(), await two.acquire()
    gone = asyncio.create_task(_take(two))
    assert await _waiting(gone)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    two.release(a)
    # Handed over at the very moment its waiter gives up: the connection comes back.
    late = asyncio.create_task(_take(two))
    assert await _waiting(late) is False  # `a` was idle: lent at once
    taken = late.result()
    waiter = asyncio.create_task(_take(two))
    assert await _waiting(waiter)
    two.release(taken)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await asyncio.wait_for(_take(two), 1) is taken
    two.release(taken)
    two.release(b)
    assert two.get_size() == 2


async def test_a_call_cut_off_closes_the_connection_and_a_new_one_is_opened(
    two: ConnectionPool,
) -> None:
    async with two.acquire() as connection:
        cut = connection
        backend = await _backend(connection)

    async def cut_off() -> None:
        async with two.acquire() as connection:
            assert connection is cut
            await asyncio.wait_for(connection.execute("SELECT pg_sleep(5)"), 0.1)

    with pytest.raises(TimeoutError):
        await cut_off()
    assert cut.is_closed()
    async with two.acquire() as connection:
        assert connection is not cut
        assert await _backend(connection) != backend
        assert await connection.fetchval("SELECT 1") == 1
    assert two.get_size() == 1


async def test_a_refused_statement_leaves_the_connection_to_be_lent_again(
    two: ConnectionPool,
) -> None:
    used: list[asyncpg.Connection] = []

    async def refused() -> None:
        async with two.acquire() as connection:
            used.append(connection)
            await connection.execute("SELEC 1")

    with pytest.raises(asyncpg.PostgresSyntaxError):
        await refused()
    async with two.acquire() as connection:
        assert connection is used[0]
        assert await connection.fetchval("SELECT 2") == 2


async def test_a_connection_left_inside_a_transaction_is_closed(two: ConnectionPool) -> None:
    connection = await two.acquire()
    await connection.execute("BEGIN")
    two.release(connection)
    assert connection.is_closed()
    async with two.acquire() as fresh:
        assert fresh is not connection
        assert not fresh.is_in_transaction()


async def test_a_connection_that_died_idle_is_replaced(
    two: ConnectionPool, database_url: str
) -> None:
    async with two.acquire() as connection:
        dead = connection
        backend = await _backend(connection)
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", backend)
    finally:
        await admin.close()
    for _ in range(100):  # the pool's connection hears of it through the event loop
        if dead.is_closed():
            break
        await asyncio.sleep(0.01)
    async with two.acquire() as connection:
        assert connection is not dead
        assert await connection.fetchval("SELECT 3") == 3


async def test_close_waits_for_what_is_lent_and_then_lends_nothing(
    two: ConnectionPool,
) -> None:
    lent = await two.acquire()
    waiter = asyncio.create_task(_take(two))
    other = await asyncio.wait_for(waiter, 1)
    closing = asyncio.create_task(two.close())
    await asyncio.sleep(0.05)
    assert not closing.done()
    with pytest.raises(PoolClosed):
        await two.acquire()
    two.release(lent)
    await asyncio.sleep(0.05)
    assert not closing.done()
    two.release(other)
    await asyncio.wait_for(closing, 2)
    assert lent.is_closed()
    assert other.is_closed()
    assert isinstance(PoolClosed("x"), asyncpg.InterfaceError)  # a storage outage to callers


async def test_a_waiter_hears_when_the_pool_closes(two: ConnectionPool) -> None:
    a, b = await two.acquire(), await two.acquire()
    waiter = asyncio.create_task(_take(two))
    assert await _waiting(waiter)
    closing = asyncio.create_task(two.close())
    with pytest.raises(PoolClosed):
        await asyncio.wait_for(waiter, 1)
    two.release(a)
    two.release(b)
    await asyncio.wait_for(closing, 2)


async def test_opening_fails_when_the_database_does_not_answer(database_url: str) -> None:
    nowhere = database_url.replace("/agiletoolbox", "/no_such_database_here", 1)
    if nowhere == database_url:
        nowhere = database_url.rsplit("/", 1)[0] + "/no_such_database_here"
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await ConnectionPool(nowhere, min_size=2, max_size=2).open()


async def test_giving_back_what_was_not_lent_is_refused(two: ConnectionPool) -> None:
    connection = await two.acquire()
    two.release(connection)
    with pytest.raises(asyncpg.InterfaceError):
        two.release(connection)


async def test_many_borrowers_cut_off_at_random_leave_the_pool_whole(
    database_url: str,
) -> None:
    # Borrowers that give back, give back after an error, or are cancelled while waiting
    # or while running a statement: none may be left waiting, none may hold a connection
    # once all are done, and the pool never holds more than its size.
    pool = await ConnectionPool(database_url, min_size=1, max_size=3).open()
    rng = random.Random(5)  # noqa: S311 - a test's fixed sequence
    largest = 0

    async def borrower(n: int) -> None:
        nonlocal largest
        async with pool.acquire() as connection:
            largest = max(largest, pool.get_size())
            if n % 7 == 0:
                await connection.execute("SELEC 1")  # refused: the connection is kept
            await connection.fetchval("SELECT pg_sleep($1)", rng.random() / 200)

    try:
        for _ in range(8):
            tasks = [asyncio.create_task(borrower(n)) for n in range(30)]
            await asyncio.sleep(rng.random() / 100)
            for task in rng.sample(tasks, 8):
                task.cancel()
            done = await asyncio.wait_for(
                asyncio.gather(*tasks, return_exceptions=True), timeout=10
            )
            assert all(
                r is None or isinstance(r, asyncio.CancelledError | asyncpg.PostgresSyntaxError)
                for r in done
            )
            assert pool.get_size() <= 3
        assert largest <= 3
        connections = [await asyncio.wait_for(pool.acquire(), 2) for _ in range(3)]
        assert [await c.fetchval("SELECT 1") for c in connections] == [1, 1, 1]
        for connection in connections:
            pool.release(connection)
    finally:
        await asyncio.wait_for(pool.close(), 5)
