"""Storage benchmark: votes through the whole stack against bare asyncpg upserts.

Run by hand: `.venv/bin/python benchmarks/storage.py [--seconds 5] [--concurrency 8]`.
The server is chosen as for the tests (`AGILETOOLBOX_TEST_DATABASE_URL`, else the local
one, else an embedded one); a fresh database is created and dropped.

Both halves run in one process against the same fresh database, with the same pool size
and concurrency; each worker writes its own row (bare) or votes in its own room (stack), so
neither measures lock waits. Bare: one single-row upsert in its own transaction. Stack:
the repository and unit of work - read the room, apply the domain, write the change with
its version check and NOTIFY, commit - with a target ratio of at least 0.5; and the whole
use case, `RoomService.vote`, which also checks the tenant and renders the voter's view.
A last line runs the bare upsert with a NOTIFY in its transaction too, which separates
what NOTIFY itself costs from what the rest of the stack costs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from tests.integration.database import create_database, drop_database, postgres_server

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.memory import MemoryJira
from agiletoolbox.adapters.postgres import (
    KeyRing,
    PostgresDatabase,
    PostgresEventBus,
    open_pool,
)
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from agiletoolbox.services.rooms import RoomService

SITE = TenantKey("bench:site/one")
UPSERT = (
    "INSERT INTO bench_upserts (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
)
# The same upsert that also NOTIFYs in its transaction, as every room change does.
UPSERT_NOTIFY = (
    "WITH up AS (" + UPSERT + " RETURNING k, v) "  # noqa: S608 - constant SQL
    "SELECT pg_notify('bench', json_build_object('k', k, 'v', v)::text) FROM up"
)
BENCH_SECRET = "bench-secret"  # noqa: S105 - a throwaway tenant of a throwaway database


async def _measure(
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


async def _rooms(database: PostgresDatabase, count: int) -> list[tuple[RoomId, AccountId]]:
    now = SystemClock().now()
    rooms: list[tuple[RoomId, AccountId]] = []
    async with database.unit_of_work() as work:
        await work.tenants.save(
            Tenant.install(
                key=SITE,
                base_url="https://bench.atlassian.net",
                shared_secret=BENCH_SECRET,
                product_type=ProductType.JIRA,
                region=Region.US,
                now=now,
            )
        )
        for n in range(count):
            owner = AccountId(f"557058:owner-{n}")
            room = Room.open(
                SITE, RoomId.generate(), IssueKey(f"BENCH-{n + 1}"), owner, RoomConfig(), now
            )
            for other in range(4):
                room.join(AccountId(f"557058:voter-{n}-{other}"), Role.VOTER, now)
            await work.rooms.add(room)
            rooms.append((room.id, owner))
        await work.commit()
    return rooms


async def bare(url: str, seconds: float, concurrency: int, *, notify: bool = False) -> float:
    """Upserts/s through a plain asyncpg pool (asyncpg's defaults), optionally notifying."""
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    try:
        async with pool.acquire() as connection:
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS bench_upserts (k int PRIMARY KEY, v int)"
            )

        statement = UPSERT_NOTIFY if notify else UPSERT

        async def upsert(worker: int, n: int) -> None:
            async with pool.acquire() as connection, connection.transaction():
                await connection.execute(statement, worker, n)

        return await _measure(concurrency, seconds, upsert)
    finally:
        await pool.close()


async def run(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    """Operations per second of each measurement, against `url`."""
    plain = await bare(url, seconds, concurrency)
    notifying = await bare(url, seconds, concurrency, notify=True)
    async with open_pool(url, min_size=concurrency, max_size=concurrency) as pool:
        database = PostgresDatabase(pool, KeyRing.generate())
        rooms = await _rooms(database, concurrency)
        async with pool.acquire() as connection:
            # A live database has statistics; without them the planner may read a room
            # through the (tenant, issue) index and filter, instead of the primary key.
            await connection.execute("ANALYZE")
        service = RoomService(
            database.unit_of_work, PostgresEventBus(url), SystemClock(), MemoryJira()
        )

        async def vote(worker: int, n: int) -> None:
            room_id, owner = rooms[worker]
            # Alternate cards so that every vote changes the room (the same card withdraws).
            await service.vote(SITE, owner, room_id, "3" if n % 2 else "5")

        stack = await _measure(concurrency, seconds, vote)

        async def vote_in_unit_of_work(worker: int, n: int) -> None:
            # The repository and unit of work alone: read, vote, save, commit (and NOTIFY).
            room_id, owner = rooms[worker]
            async with database.unit_of_work() as work:
                room = await work.rooms.get(SITE, room_id)
                room.vote(owner, "3" if n % 2 else "5", clock.now())
                await work.rooms.save(room)
                await work.commit()

        clock = SystemClock()
        repository = await _measure(concurrency, seconds, vote_in_unit_of_work)
    return {"bare": plain, "votes": stack, "repository": repository, "bare+notify": notifying}


async def main() -> None:
    """Parse the options, run both halves on a fresh database, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    options = parser.parse_args()
    with postgres_server() as server:
        url = await create_database(server)
        try:
            rates = await run(url, options.seconds, options.concurrency)
        finally:
            await drop_database(server, url)
    bare_rate, votes, notifying = rates["bare"], rates["votes"], rates["bare+notify"]
    repository = rates["repository"]
    print(f"concurrency {options.concurrency}, {options.seconds:g} s each")
    print(f"bare asyncpg upserts/s:          {bare_rate:8.0f}")
    print(f"votes/s (repo + UoW):            {repository:8.0f}")
    print(f"ratio:                           {repository / bare_rate:8.2f}  (target >= 0.50)")
    # The whole use case adds the tenant check (one more round trip) and the voter's view.
    print(f"votes/s (service + UoW + repo):  {votes:8.0f}  (ratio {votes / bare_rate:.2f})")
    # NOTIFY takes a cluster-wide lock held through the commit's WAL flush, so notifying
    # transactions commit one at a time; this line shows that cost on its own.
    print(
        f"bare upserts that NOTIFY, /s:    {notifying:8.0f}  (votes ratio {votes / notifying:.2f})"
    )


if __name__ == "__main__":
    asyncio.run(main())
