"""Storage benchmark: votes through the whole stack against bare asyncpg upserts.

Run by hand: `.venv/bin/python benchmarks/storage.py [--seconds 5] [--concurrency 8]
[--rounds 5]`.
The server is chosen as for the tests (`AGILETOOLBOX_TEST_DATABASE_URL`, else the local
one, else an embedded one); a fresh database is created and dropped.

Both halves run in one process against the same fresh database, with the same pool size
and concurrency; each worker writes its own row (bare) or votes in its own room (stack), so
neither measures lock waits. Bare: one single-row upsert in its own transaction. Stack:
the repository and unit of work - read the room, apply the domain, write the change with
its version check and NOTIFY, commit - with a target ratio of at least 0.5; and the whole
use case, `RoomService.vote`, which also checks the tenant.
A last line runs the bare upsert with a NOTIFY in its transaction too, which separates
what NOTIFY itself costs from what the rest of the stack costs.

The kinds take turns in `--rounds` rounds (five by default), so each ratio compares
figures measured within the same second or two; the figures printed are medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from benchmarks.load import SITE, seed_rooms
from benchmarks.upserts import measure, upserts

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.memory import MemoryJira
from agiletoolbox.adapters.postgres import (
    KeyRing,
    PostgresDatabase,
    PostgresEventBus,
    open_pool,
)
from agiletoolbox.adapters.postgres.scratch import scratch_database
from agiletoolbox.services.rooms import RoomService


async def run(url: str, seconds: float, concurrency: int, rounds: int) -> dict[str, list[float]]:
    """Operations per second of each measurement against `url`, round by round.

    Each round measures every kind once, one after the other, for `seconds / rounds`
    each: the machine's speed drifts, and a ratio of two figures taken seconds apart
    carries that drift, so ratios are taken within a round.
    """
    span = seconds / rounds
    plain_pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    try:
        async with open_pool(url, min_size=concurrency, max_size=concurrency) as pool:
            database = PostgresDatabase(pool, KeyRing.generate())
            rooms = [
                (room, people[0]) for room, people in await seed_rooms(database, concurrency, 5)
            ]
            async with pool.acquire() as connection:
                # A live database has statistics; without them the planner may read a room
                # through the (tenant, issue) index and filter, instead of the primary key.
                await connection.execute("ANALYZE")
            service = RoomService(
                database.unit_of_work, PostgresEventBus(url), SystemClock(), MemoryJira()
            )
            clock = SystemClock()

            async def vote(worker: int, n: int) -> None:
                room_id, owner = rooms[worker]
                # Alternate cards so that every vote changes the room (the same card
                # withdraws).
                await service.vote(SITE, owner, room_id, "3" if n % 2 else "5")

            async def vote_in_unit_of_work(worker: int, n: int) -> None:
                # The repository and unit of work alone: read, vote, save, commit (NOTIFY).
                room_id, owner = rooms[worker]
                async with database.unit_of_work() as work:
                    room = await work.rooms.get(SITE, room_id)
                    room.vote(owner, "3" if n % 2 else "5", clock.now())
                    await work.rooms.save(room)
                    await work.commit()

            steps = {
                "bare": await upserts(plain_pool, notify=False),
                "repository": vote_in_unit_of_work,
                "votes": vote,
                "bare+notify": await upserts(plain_pool, notify=True),
            }
            rates: dict[str, list[float]] = {name: [] for name in steps}
            for _ in range(rounds):
                for name, step in steps.items():
                    rates[name].append(await measure(concurrency, span, step))
    finally:
        await plain_pool.close()
    return rates


def _ratios(top: list[float], bottom: list[float]) -> str:
    each = [a / b for a, b in zip(top, bottom, strict=True)]
    listed = " ".join(f"{ratio:.2f}" for ratio in each)
    return f"{statistics.median(each):8.2f}  (rounds: {listed})"


async def main() -> None:
    """Parse the options, run every measurement on a fresh database, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per kind, all rounds")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    async with scratch_database() as url:
        rates = await run(url, options.seconds, options.concurrency, options.rounds)
    median = {name: statistics.median(each) for name, each in rates.items()}
    print(
        f"concurrency {options.concurrency}, {options.seconds:g} s per kind "
        f"in {options.rounds} interleaved rounds; medians, ratios within each round"
    )
    print(f"bare asyncpg upserts/s:          {median['bare']:8.0f}")
    print(f"votes/s (repo + UoW):            {median['repository']:8.0f}")
    print(f"ratio:                           {_ratios(rates['repository'], rates['bare'])}")
    print("  (target >= 0.50)")
    # The whole use case adds the tenant check (its standing comes with the room).
    print(f"votes/s (service + UoW + repo):  {median['votes']:8.0f}")
    print(f"  ratio to bare upserts:         {_ratios(rates['votes'], rates['bare'])}")
    # NOTIFY takes a cluster-wide lock held through the commit's WAL flush, so notifying
    # transactions commit one at a time; this line shows that cost on its own.
    print(f"bare upserts that NOTIFY, /s:    {median['bare+notify']:8.0f}")
    print(f"  repo + UoW votes to those:     {_ratios(rates['repository'], rates['bare+notify'])}")


if __name__ == "__main__":
    asyncio.run(main())
