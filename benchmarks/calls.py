"""Python calls per vote: our server against the bare room server, counted, not timed.

Run by hand: `.venv/bin/python benchmarks/calls.py` (about a minute). It needs what
`live.py` needs, and runs the same servers with the same rooms and load generator: ours
(`python -m agiletoolbox serve`) and the bare room server, each under a counter.

Why count: a vote's server CPU moves by some 5% from one window to the next on a shared
machine, and more between machines, so a change that saves 2% of it cannot be seen in
`live.py`. The number of Python calls a server makes per vote does not move: the same
code makes the same calls on any machine (give or take one, from the servers' timers).
A call is a Python function entered or a generator or coroutine resumed, what
`sys.setprofile` reports as a "call"; each one sets up a frame, and on a server whose
code and data PostgreSQL and the load generator keep pushing out of the CPU's caches each
costs far more than in a loop run alone. Ours making fewer calls than before is a vote
doing less; the ratio to the bare server says how much more than the naive design it
does. What each call costs still differs: the CPU figures stay `live.py`'s.

How: each server runs under `counted.py`, which sets a counter (off) and runs the
server. After the rooms have warmed up (20 votes each), SIGUSR2 starts the
count, each of the 8 rooms of 8 votes `--votes` times (closed loop, as `live.py`'s votes/s
windows), and SIGUSR2 again writes the counts. The counter slows a server down about
threefold, which changes nothing counted.

Ours runs on asyncio's own event loop here, as the bare server does (`loops.py` measures
what uvloop, the default, saves). `--against SRC` counts a second copy of ours too, run
from another source tree (a checkout's `src`), on the same rooms: before and after a
change, in one run. `--top N` lists the functions ours calls most.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from benchmarks.figures import BARE, FULL, OURS
from benchmarks.live import Bench
from benchmarks.load import WAIT_SECONDS, Process, Table, seat_everyone, unseat_everyone

from agiletoolbox.adapters.postgres.scratch import create_database, drop_database, postgres_server

WARM_UP = 20
"""Votes per room before the count starts (statements prepared, memos filled)."""
AGAINST = "against"

GROUPS = (
    ("our code", "agiletoolbox/"),
    ("attrs-made methods (__init__, comparisons)", "<attrs generated"),
    ("cattrs-made structuring", "<cattrs generated"),
    ("the bare server's own", "benchmarks/bare_room.py"),
    ("aiohttp", "/aiohttp/"),
    ("asyncpg", "/asyncpg/"),
    ("asyncio", "/asyncio/"),
)


def group_of(filename: str) -> str:
    """The group of the code a call ran, by its file name."""
    return next((name for name, part in GROUPS if part in filename), "other")


# -- the run -----------------------------------------------------------------------------


async def votes(tables: list[Table], each: int) -> None:
    """Every room votes `each` times, the next vote once the last was acked and seen."""

    async def room(table: Table) -> None:
        for _ in range(each):
            await table.vote()
            await asyncio.wait_for(table.done.wait(), WAIT_SECONDS * 10)

    await asyncio.gather(*(room(table) for table in tables))


async def count(
    bench: Bench, session: aiohttp.ClientSession, server: Process, url: str, who: str, each: int
) -> dict[str, float]:
    """Python calls per vote of one server, by function (`file:name`), over `each` votes
    of every room."""
    tables = bench.throughput_tables[BARE if who == BARE else OURS]
    await seat_everyone(session, tables, bench.tickets, url, bench.plan.connect_concurrency)
    await votes(tables, WARM_UP)
    written = counts_of(server)
    written.unlink(missing_ok=True)
    os.kill(server.pid, signal.SIGUSR2)
    await asyncio.sleep(0.2)
    await votes(tables, each)
    os.kill(server.pid, signal.SIGUSR2)
    for _ in range(100):
        await asyncio.sleep(0.1)
        if written.exists():
            break
    counts: dict[str, int] = json.loads(written.read_text())
    await unseat_everyone(tables, bench.plan.connect_concurrency)
    cast = each * len(tables)
    return {name: calls / cast for name, calls in counts.items()}


def by_group(calls: dict[str, float]) -> dict[str, float]:
    """Calls per vote by function, summed by group."""
    grouped: collections.Counter[str] = collections.Counter()
    for name, per_vote in calls.items():
        grouped[group_of(name.rsplit(":", 1)[0])] += per_vote
    return dict(grouped)


def top(calls: dict[str, float], many: int) -> None:
    """The `many` functions called most per vote, with their group."""
    for name, per_vote in sorted(calls.items(), key=lambda item: -item[1])[:many]:
        path, function = name.rsplit(":", 1)
        where = path.split("site-packages/")[-1].split("/src/")[-1]
        print(f"  {per_vote:7.1f}  {where}:{function}")


def counts_of(server: Process) -> Path:
    """Where the counter of `server` writes (beside its log)."""
    return server.log.with_suffix(".calls.json")


def counted(server: Process) -> None:
    """Run `server` under the counter from now on."""
    wrapper = Path(__file__).with_name("counted.py")
    server.args = [sys.executable, str(wrapper), str(counts_of(server)), *server.args[1:]]


def report(by_function: dict[str, dict[str, float]], many: int) -> None:
    """Per server, calls per vote in all and by group, and the ratios to the bare server;
    then the functions ours calls most."""
    calls = {who: by_group(functions) for who, functions in by_function.items()}
    servers = list(calls)
    groups = sorted({g for by_group in calls.values() for g in by_group}, key=_group_order)
    print("Python calls per vote (functions entered, generators and coroutines resumed)")
    print(f"{'':46}" + "".join(f"{who:>10}" for who in servers))
    totals = {who: sum(calls[who].values()) for who in servers}
    print(f"{'all':46}" + "".join(f"{totals[who]:10.1f}" for who in servers))
    for group in groups:
        print(f"  {group:44}" + "".join(f"{calls[who].get(group, 0.0):10.1f}" for who in servers))
    for who in servers:
        if who != BARE:
            print(f"{who} / bare: {totals[who] / totals[BARE]:.2f}")
    if AGAINST in totals:
        print(f"ours / against: {totals[OURS] / totals[AGAINST]:.3f}")
    if many:
        print(f"The {many} functions ours calls most, calls per vote:")
        top(by_function[OURS], many)


def _group_order(group: str) -> int:
    names = [name for name, _ in GROUPS]
    return names.index(group) if group in names else len(names)


async def main() -> None:
    """Parse the options, count on a scratch database, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=100, help="votes per room counted")
    parser.add_argument("--against", type=Path, metavar="SRC", help="also count ours from SRC")
    parser.add_argument(
        "--top", type=int, default=0, metavar="N", help="list the N functions ours calls most"
    )
    options = parser.parse_args()
    with postgres_server() as server, tempfile.TemporaryDirectory(prefix="calls-") as folder:
        database = await create_database(server)
        live = argparse.Namespace(votes_only=True, profile=None, disturbed=0.1)
        bench = Bench(database, FULL, Path(folder), live)
        for process in (bench.bare, bench.a, bench.b):
            counted(process)
        for process in (bench.a, bench.b):
            # On asyncio's own loop, as the bare server: uvloop's share would be in C,
            # where the counter does not see it (`loops.py` measures what it saves).
            process.env["AGILETOOLBOX_EVENT_LOOP"] = "asyncio"
        if options.against is not None:
            bench.b.env["PYTHONPATH"] = str(options.against.resolve())
        servers = [(BARE, bench.bare, bench.url_bare), (OURS, bench.a, bench.url_a)]
        if options.against is not None:
            servers.append((AGAINST, bench.b, bench.url_b))
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                await bench.start(session)
                calls = {
                    who: await count(bench, session, process, url, who, options.votes)
                    for who, process, url in servers
                }
        finally:
            await bench.stop()
            await drop_database(server, database)
    report(calls, options.top)


if __name__ == "__main__":
    asyncio.run(main())
