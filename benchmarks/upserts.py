"""Bare asyncpg upserts: the floor of what one PostgreSQL write costs, for the benchmarks.

`storage.py` divides the storage layer's votes by it, and `live.py` prints it as context;
keeping it here lets both measure the very same thing without `live.py` depending on the
storage layer's internals. One single-row upsert per call, in its own transaction, on a
plain asyncpg pool (asyncpg's defaults), each worker writing its own row so that no
measurement includes lock waits; optionally with a NOTIFY in the transaction, as every
room change has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg

UPSERT = (
    "INSERT INTO bench_upserts (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
)
# The same upsert that also NOTIFYs in its transaction, as every room change does.
UPSERT_NOTIFY = (
    "WITH up AS (" + UPSERT + " RETURNING k, v) "  # noqa: S608 - constant SQL
    "SELECT pg_notify('bench', json_build_object('k', k, 'v', v)::text) FROM up"
)


async def measure(
    workers: int, seconds: float, step: Callable[[int, int], Awaitable[object]]
) -> float:
    """Operations per second of `workers` loops calling `step(worker, n)` for `seconds`."""
    done = 0
    deadline = 0.0

    async def loop(worker: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < deadline:
            await step(worker, n)
            n += 1
            done += 1

    deadline = time.perf_counter() + seconds / 5  # warm-up: prepared statements, caches
    await asyncio.gather(*(loop(w) for w in range(workers)))
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(loop(w) for w in range(workers)))
    return done / (time.perf_counter() - started)


async def bare(url: str, seconds: float, concurrency: int, *, notify: bool = False) -> float:
    """Upserts/s through a plain asyncpg pool (asyncpg's defaults), optionally notifying."""
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    try:
        return await measure(concurrency, seconds, await upserts(pool, notify=notify))
    finally:
        await pool.close()


async def upserts(pool: asyncpg.Pool, *, notify: bool) -> Callable[[int, int], Awaitable[object]]:
    """One bare upsert per call, in its own transaction, on a pooled connection."""
    async with pool.acquire() as connection:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_upserts (k int PRIMARY KEY, v int)"
        )
    statement = UPSERT_NOTIFY if notify else UPSERT

    async def upsert(worker: int, n: int) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(statement, worker, n)

    return upsert
