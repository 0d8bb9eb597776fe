"""Pool benchmark: what lending a connection costs, ours against asyncpg's pool.

Run by hand: `.venv/bin/python benchmarks/pool.py [--seconds 2] [--rounds 5]`. PostgreSQL
is chosen as for the tests; a scratch database is created and dropped.

Every unit of work takes a connection and gives it back. Two jobs, each run by 8
concurrent workers on a pool of 10, with ours (`adapters/postgres/pool.py`) and with
asyncpg's pool set up as it would be here (no reset on release, no idle timer):

- **lend**: take a connection and give it back, nothing else: the pool's own cost;
- **statement**: take one, run `SELECT $1::int` on it, give it back: what a unit of work
  with one statement (a vote) pays, the round trip to PostgreSQL included.

The two pools take turns in `--rounds` rounds; each figure is the median (min-max) of the
CPU time this process spent per operation, and the ratio ours / asyncpg's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from agiletoolbox.adapters.postgres.pool import ConnectionPool
from agiletoolbox.adapters.postgres.scratch import scratch_database

WORKERS = 8
SIZE = 10

Step = Callable[[], Awaitable[object]]


async def _keep(_connection: asyncpg.Connection) -> None:
    """No reset on release, as the app's units of work leave no session state."""


def jobs(pool: Any, *, asyncpgs: bool) -> dict[str, Step]:
    """The two jobs on `pool` (asyncpg's pool gives back with an awaited `release`)."""

    async def give_back(connection: asyncpg.Connection) -> None:
        if asyncpgs:
            await pool.release(connection)
        else:
            pool.release(connection)

    async def lend() -> None:
        await give_back(await pool.acquire())

    async def statement() -> None:
        connection = await pool.acquire()
        try:
            await connection.fetchval("SELECT $1::int", 1)
        finally:
            await give_back(connection)

    return {"lend": lend, "statement": statement}


async def per_operation(step: Step, seconds: float) -> float:
    """CPU microseconds per operation of `WORKERS` loops running `step` for `seconds`."""
    done = 0
    deadline = time.perf_counter() + seconds / 5

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await step()
            done += 1

    await asyncio.gather(*(loop() for _ in range(WORKERS)))  # warm-up
    done = 0
    deadline = time.perf_counter() + seconds
    started = time.process_time()
    await asyncio.gather(*(loop() for _ in range(WORKERS)))
    return 1e6 * (time.process_time() - started) / done


async def main() -> None:
    """Measure both pools, in interleaved rounds, and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    async with scratch_database() as url:
        ours = await ConnectionPool(url, min_size=SIZE, max_size=SIZE).open()
        theirs = await asyncpg.create_pool(
            url, min_size=SIZE, max_size=SIZE, reset=_keep, max_inactive_connection_lifetime=0
        )
        pools = {"ours": jobs(ours, asyncpgs=False), "asyncpg": jobs(theirs, asyncpgs=True)}
        taken: dict[tuple[str, str], list[float]] = {}
        for r in range(options.rounds):
            order = list(pools) if r % 2 == 0 else list(reversed(pools))
            for job in ("lend", "statement"):
                for name in order:
                    figure = await per_operation(pools[name][job], options.seconds)
                    taken.setdefault((name, job), []).append(figure)
        await ours.close()
        await theirs.close()
    print(f"CPU per operation, {WORKERS} workers, pools of {SIZE}, medians of {options.rounds}")
    print(f"{'job':>10}  {'ours, us':>20}  {'asyncpg, us':>20}  ratio")
    for job in ("lend", "statement"):
        cells = []
        for name in ("ours", "asyncpg"):
            each = taken[name, job]
            cells.append(f"{statistics.median(each):6.1f} ({min(each):.1f}-{max(each):.1f})")
        ratio = statistics.median(taken["ours", job]) / statistics.median(taken["asyncpg", job])
        print(f"{job:>10}  {cells[0]:>20}  {cells[1]:>20}  {ratio:5.2f}")


if __name__ == "__main__":
    asyncio.run(main())
