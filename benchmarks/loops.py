"""What the event loop costs a vote: ours on uvloop against ours on asyncio's own loop.

Run by hand: `.venv/bin/python benchmarks/loops.py` (about 4 minutes with the defaults).
It needs what `live.py` needs, and runs `live.py`'s votes/s window (8 rooms of 8, closed
loop, the same CPU meter and quiet checks) against two processes of ours on one database:
A with `AGILETOOLBOX_EVENT_LOOP=uvloop` (the default) and B with `asyncio`, on the same
rooms, in interleaved rounds (A first in odd rounds, B first in even ones).

It prints, for each loop, the median votes/s and server CPU per vote over the rounds
with their spread, the ratio of the medians (uvloop over asyncio), and each round's own
ratio (the rounds pair the two windows moments apart, so their ratios leave out the
machine's drift between rounds). `AGILETOOLBOX_EVENT_LOOP` keeps uvloop only where this
shows it pays.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from benchmarks.figures import FULL, OURS, cell, paired
from benchmarks.live import Bench, add_disturbed

from agiletoolbox.adapters.postgres.scratch import create_database, drop_database, postgres_server

UVLOOP, ASYNCIO = OURS, "ours on asyncio"
FIGURES = (
    ("votes/s", "votes/s, 8 rooms of 8, closed loop", 0),
    ("server ms/vote", "server CPU per vote, ms", 3),
)


async def measure(options: argparse.Namespace) -> Bench:
    """Every round on a scratch database: both loops' votes/s windows, interleaved."""
    with postgres_server() as server, tempfile.TemporaryDirectory(prefix="loops-") as folder:
        database = await create_database(server)
        plan = dataclasses.replace(FULL, seconds=options.seconds)
        live = argparse.Namespace(votes_only=True, profile=None, disturbed=options.disturbed)
        bench = Bench(database, plan, Path(folder), live)
        bench.a.env["AGILETOOLBOX_EVENT_LOOP"] = "uvloop"
        bench.b.env["AGILETOOLBOX_EVENT_LOOP"] = "asyncio"
        bench.voting[ASYNCIO] = (bench.b, bench.url_b)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                await bench.start(session)
                bench.throughput_tables[ASYNCIO] = bench.throughput_tables[UVLOOP]
                for n in range(options.rounds):
                    for who in (UVLOOP, ASYNCIO) if n % 2 == 0 else (ASYNCIO, UVLOOP):
                        await bench.throughput(session, who, n)
        finally:
            await bench.stop()
            await drop_database(server, database)
    return bench


def report(bench: Bench) -> None:
    """Medians and spread per loop, the ratio of the medians, each round's own ratio."""
    samples = bench.samples
    print(
        f"\n{'medians (min-max) over the rounds':40}{'uvloop':>22}{'asyncio':>22}  uvloop/asyncio"
    )
    for figure, label, digits in FIGURES:
        mine, theirs = samples.of(figure, UVLOOP), samples.of(figure, ASYNCIO)
        ratio = statistics.median(mine) / statistics.median(theirs)
        print(f"{label:40}{cell(mine, digits):>22}{cell(theirs, digits):>22}  {ratio:.2f}")
    print("each round's own ratio, uvloop over asyncio (median, min-max):")
    for figure, label, _ in FIGURES:
        ratios = paired(samples, figure, UVLOOP, ASYNCIO)
        print(f"  {label:38}{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
    others = bench.quiet.others
    print(f"other processes' CPU per window: median {statistics.median(others):.2f} core", end="")
    print(f", {bench.quiet.repeats} window(s) measured again")


def main() -> None:
    """Parse the options, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="seconds per window (default 15)"
    )
    add_disturbed(parser)
    report(asyncio.run(measure(parser.parse_args())))


if __name__ == "__main__":
    main()
