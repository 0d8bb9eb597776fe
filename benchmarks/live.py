"""Live-room benchmark: our server against a bare room server, every figure a ratio to it.

Run by hand: `.venv/bin/python benchmarks/live.py` (5 rounds, about 10 minutes on 2
cores) or `... live.py --quick` (one short round, about a minute). It needs nothing but
`pip install -e .` (and py-spy for `--profile`). PostgreSQL is chosen as for the tests
(`AGILETOOLBOX_TEST_DATABASE_URL`, else the local server, else an embedded one); a
scratch database is created, migrated and dropped. All traffic stays on 127.0.0.1.

The servers, on the one database:

- ours: two `python -m agiletoolbox serve` processes, A and B, sharing the secret key;
- bare: `bare_room.py` in a process of its own, the naive design doing the same job (one
  statement per vote, a masked full view per recipient, sockets in a dict; no listener,
  no presence). It is the floor that tells what our design costs or saves.

One load generator (this process, `load.py`) drives both the same way: one client socket
per participant, tickets minted with the key the servers derive from the secret, rooms of
8 where member 0 votes (alternating cards) and the 7 peers wait for the new version.

Each round measures bare and ours in turn, and which goes first alternates from round to
round, so that both meet the same drift of the machine:

1. votes/s: 8 rooms of 8 on one process, each voting again once its last vote was acked
   and seen by its 7 peers (closed loop); with it the CPU each vote cost the server (A
   alone for ours), PostgreSQL and the load generator, and the bytes each recipient got
   per vote and per view (full view or patch) delivered. Ours is measured twice: with
   rooms of their own, and with rooms a refinement session's queue holds ("ours
   session"), whose votes must cost no more than a room's.
2. RSS per connected participant: the server's VmRSS with every participant seated, less
   its VmRSS just before it seated them, per participant, at the first seating (later ones
   reuse the memory the first one freed, which stays with the process). The VmRSS before
   each seating is printed too: that figure growing from round to round would be memory
   never given back (a leak).
3. vote -> 7 peers latency with 1,000 participants (125 rooms of 8) seated on one process,
   at each offered rate (200, 350, 500 votes/s round robin over the rooms, open loop):
   from the vote leaving the voter's socket until each peer holds the new version. A room
   still busy when its turn comes skips it, counted as skipped: the offered rate is a
   ceiling, never a growing queue. For ours also with the voters on A and their peers
   on B (the change travels A -> PostgreSQL NOTIFY -> B).

How to read it: each figure is the median over the rounds with its spread (min-max), for
bare and for ours, then ours / bare as a ratio of the medians. The targets are judged on
those. Below them the report gives each round's own ratio for votes/s and CPU per vote
(ours over bare, measured moments apart) and their median: the machine's drift between
rounds moves the medians of both servers, which the rounds' own ratios leave out. A ratio
is the figure that travels between machines; absolute figures change with the machine and
its load, and a spread wider than the gap between two ratios means the run cannot tell
them apart. The targets compare ours with bare from the same run. On 2 cores the servers,
PostgreSQL and the load generator share the cores, so latencies include the load
generator's delays.

Every measurement window is checked for a quiet machine (`meter.py`): /proc/stat gives
the CPU all cores spent in the window; less what the benchmark's own processes spent (its
servers, the PostgreSQL processes of the scratch database's cluster, the load generator)
it is what other processes took, printed on the window's line with the biggest of them
named. A window above `--disturbed` cores of it (0.1 by default) is measured again, at
most twice and 12 times in a run (once and 4 times with `--quick`), and the quietest
attempt is kept; the summary gives the load average before and after, how many windows
were measured again and which stayed disturbed. Before each window the servers are left
to finish what the previous one started (presence writes after sockets close).

Also printed: the bytes each recipient received per vote and per view or patch (the wire
protocol is changing towards smaller messages: the reader takes either shape, see
`load.py`), and, as context, bare asyncpg upserts/s (as `storage.py` measures them) and
the most votes/s the cores could carry at the CPU each vote cost in all.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from benchmarks.bare_room import serve as serve_bare
from benchmarks.figures import (
    BARE,
    CROSS,
    FULL,
    OURS,
    QUICK,
    SESSION,
    Pauses,
    Plan,
    Quiet,
    Samples,
    Window,
    report,
    window_of,
)
from benchmarks.load import (
    HOST,
    ROOM_SIZE,
    THROUGHPUT_ROOMS,
    Process,
    Table,
    bare_process,
    closed_loop,
    free_port,
    open_loop,
    seat_everyone,
    seed,
    seed_session,
    serve_process,
    tables_of,
    unseat_everyone,
)
from benchmarks.meter import CpuMeter, settle
from benchmarks.upserts import bare as bare_upserts

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.http.health import LONG_PAUSE_SECONDS
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.postgres import KeyRing
from agiletoolbox.adapters.postgres.scratch import create_database, drop_database, postgres_server
from agiletoolbox.containers import ticket_key

BUDGET_SECONDS = 1200.0  # the whole run stops here whatever happens
SCRIPT = str(Path(__file__).resolve())
STARTED = time.perf_counter()


class Bench:
    """The servers, the rooms and the rounds of one run."""

    def __init__(
        self, database: str, plan: Plan, folder: Path, options: argparse.Namespace
    ) -> None:
        self.database = database
        self.plan = plan
        self.options = options
        secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.keys = KeyRing.parse(secret)
        # The servers derive the ticket key from the shared secret key in the same way.
        self.tickets = TicketBook(ticket_key(self.keys), SystemClock())
        bare_port, port_a, port_b = free_port(), free_port(), free_port()
        self.url_bare = f"http://{HOST}:{bare_port}"
        self.url_a, self.url_b = f"http://{HOST}:{port_a}", f"http://{HOST}:{port_b}"
        settings = {
            "env": "test",
            "base_url": self.url_a,  # one public base URL for both, as behind a balancer
            "database_url": database,
            "secret_key": secret,
            "install_keys_url": f"http://{HOST}:9/install-keys",  # never called: no install
            # One load generator speaks for everyone: the per-client limits are not measured.
            "limit_commands_per_second": "1000",
            "limit_requests_per_minute_person": "1000000",
            "limit_requests_per_minute_site": "10000000",
            "limit_sockets_per_person": "1000",
        }
        self.a = serve_process("a", port_a, settings, folder)
        self.b = serve_process("b", port_b, settings, folder)
        self.bare = bare_process(SCRIPT, bare_port, database, secret, folder)
        self.voting: dict[str, tuple[Process, str]] = {
            BARE: (self.bare, self.url_bare),
            OURS: (self.a, self.url_a),
            SESSION: (self.a, self.url_a),
        }
        """Which server (and at which URL) each kind of votes/s window measures."""
        self.samples = Samples()
        self.quiet = Quiet(options.disturbed)
        self.throughput_tables: dict[str, list[Table]] = {}
        self.latency_tables: dict[str, list[Table]] = {}

    @property
    def servers(self) -> tuple[int, ...]:
        """Every server process of the benchmark."""
        return self.bare.pid, self.a.pid, self.b.pid

    async def start(self, session: aiohttp.ClientSession) -> None:
        """Seed the rooms (separate ones for each server), start the servers."""
        plan = self.plan
        per_server = THROUGHPUT_ROOMS + (0 if self.options.votes_only else plan.rooms)
        seeded = await seed(self.database, self.keys, 2 * per_server + THROUGHPUT_ROOMS)
        for n, who in enumerate((BARE, OURS)):
            mine = seeded[n * per_server : (n + 1) * per_server]
            self.throughput_tables[who] = tables_of(mine[:THROUGHPUT_ROOMS])
            self.latency_tables[who] = tables_of(mine[THROUGHPUT_ROOMS:])
        in_sessions = seeded[2 * per_server :]
        await seed_session(self.database, self.keys, in_sessions)
        self.throughput_tables[SESSION] = tables_of(in_sessions)
        await asyncio.gather(self.bare.start(), self.a.start(), self.b.start())
        await asyncio.gather(
            self.bare.wait_for(f"{self.url_bare}/healthz", session),
            self.a.wait_for(f"{self.url_a}/readyz", session),
            self.b.wait_for(f"{self.url_b}/readyz", session),
        )
        await settle(self.servers)

    async def round(self, session: aiohttp.ClientSession, n: int) -> None:
        """One round: bare and ours in turn, the first of them alternating."""
        order = (BARE, OURS) if n % 2 == 0 else (OURS, BARE)
        say(f"round {n + 1}: bare asyncpg upserts (context)")
        upserts = await bare_upserts(self.database, self.plan.seconds / 2, THROUGHPUT_ROOMS)
        self.samples.add("upserts/s", BARE, upserts)
        voting = (BARE, OURS, SESSION) if n % 2 == 0 else (SESSION, OURS, BARE)
        for who in voting:
            await self.throughput(session, who, n)
        if self.options.votes_only:
            return
        for who in order:
            await self.latency(session, who, n)

    async def window(self, label: str, measure: Callable[[], Awaitable[Window]]) -> Window:
        """Measure a window, again while the machine was busy with other work; the quietest."""
        plan = self.plan
        kept: Window | None = None
        for attempt in range(plan.repeats + 1):
            measured = await measure()
            other = measured.spent.other_cores
            busy = other > self.quiet.threshold
            again = busy and attempt < plan.repeats and self.quiet.repeats < plan.most_repeats
            note = ""
            if again:
                note = "measuring again"
            elif busy:
                spent = attempt < plan.repeats  # the run's repeats ran out first
                note = "no repeats left in the run, kept" if spent else "kept the quietest"
            if note:
                note = f"  disturbed ({measured.spent.others()}): {note}"
            print(f"  {label:<30} {measured.describe()}; other {other:.2f} core{note}", flush=True)
            if kept is None or other < kept.spent.other_cores:
                kept = measured
            if not again:
                break
            self.quiet.repeats += 1
        assert kept is not None
        self.quiet.others.append(kept.spent.other_cores)
        if kept.spent.other_cores > self.quiet.threshold:
            self.quiet.disturbed.append(label)
        return kept

    def meter(self, *measured: int) -> CpuMeter:
        """A meter of `measured` servers; the benchmark's other servers are its own tools."""
        return CpuMeter(self.database, measured, self.servers)

    async def throughput(self, session: aiohttp.ClientSession, who: str, n: int) -> None:
        """Votes/s, CPU and bytes per vote of one server, 8 rooms of 8, closed loop."""
        plan, tables = self.plan, self.throughput_tables[who]
        server, url = self.voting[who]
        say(f"round {n + 1}: {who} votes/s")
        await seat_everyone(session, tables, self.tickets, url, plan.connect_concurrency)
        await settle(self.servers)
        await closed_loop(tables, plan.seconds / 5)  # warm-up: prepared statements, caches
        profiler = None
        if who in (OURS, BARE) and n == 0 and self.options.profile is not None:
            output = self.options.profile
            if who == BARE:
                output = output.with_name(f"{output.stem}.bare{output.suffix}")
            profiler = await start_profiler(output, server.pid, plan.seconds * 1.2)
        meter = self.meter(server.pid)
        if profiler is not None:
            meter.tools += (profiler.pid,)

        async def measure() -> Window:
            tables[0].tally.reset()
            meter.start()
            started = time.perf_counter()
            done = await closed_loop(tables, plan.seconds)
            elapsed = time.perf_counter() - started
            return window_of(tables, meter.stop(), done, elapsed, latency=False)

        measured = await self.window(f"r{n + 1} {who} votes/s", measure)
        if profiler is not None:
            await profiler.wait()
        server_cpu, postgres_cpu, generator_cpu = measured.spent.per(measured.votes)
        samples = self.samples
        samples.add("votes/s", who, measured.votes / measured.seconds)
        samples.add("server ms/vote", who, 1000 * server_cpu)
        samples.add("postgres ms/vote", who, 1000 * postgres_cpu)
        samples.add("generator ms/vote", who, 1000 * generator_cpu)
        samples.add("bytes/recipient", who, measured.received / (measured.votes * ROOM_SIZE))
        samples.add("bytes/view", who, measured.view_bytes / max(measured.views, 1))
        await unseat_everyone(tables, plan.connect_concurrency)

    async def latency(self, session: aiohttp.ClientSession, who: str, n: int) -> None:
        """RSS and latency at each rate on one server; for ours, then across A and B."""
        tables = self.latency_tables[who]
        if who == BARE:
            await self.latency_on(session, BARE, tables, self.url_bare, self.bare, n)
            return
        await self.latency_on(session, OURS, tables, self.url_a, self.a, n)
        across = {0: self.url_a} | dict.fromkeys(range(1, ROOM_SIZE), self.url_b)
        await self.latency_on(session, CROSS, tables, across, None, n)

    async def latency_on(
        self,
        session: aiohttp.ClientSession,
        who: str,
        tables: list[Table],
        server_of: dict[int, str] | str,
        rss: Process | None,
        n: int,
    ) -> None:
        """Seat everyone, take the RSS (of `rss`), then one window per offered rate."""
        plan = self.plan
        say(f"round {n + 1}: {who}, {plan.participants} participants")
        base = 0
        if rss is not None:  # just before seating: what the sockets add is measured alone
            await settle(self.servers)
            base = rss.rss_kib()
            # The same figure round after round: growth here would be memory not returned.
            self.samples.add("rss MiB before seating", who, base / 1024)
        await seat_everyone(session, tables, self.tickets, server_of, plan.connect_concurrency)
        await settle(self.servers)
        if rss is not None and n == 0:  # later seatings reuse what the first one freed
            grown = rss.rss_kib() - base
            self.samples.add("rss KB/participant", who, grown * 1.024 / plan.participants)
        # The servers holding the sockets: for ours across processes, both.
        holders = {BARE: (self.bare.pid,), OURS: (self.a.pid,), CROSS: (self.a.pid, self.b.pid)}
        meter = self.meter(*holders[who])
        # Ours report their collector's pauses in their metrics; the bare server has none.
        metrics = {BARE: (), OURS: (self.url_a,), CROSS: (self.url_a, self.url_b)}[who]
        for rate in plan.rates:
            await open_loop(tables, rate, plan.warm_seconds)

            async def measure(rate: float = rate) -> Window:
                tables[0].tally.reset()
                before = await collector_pauses(session, metrics)
                meter.start()
                offered = await open_loop(tables, rate, plan.latency_seconds)
                measured = window_of(
                    tables, meter.stop(), offered.sent, offered.seconds, latency=True
                )
                return dataclasses.replace(
                    measured,
                    skipped=offered.skipped,
                    unfinished=offered.unfinished,
                    pauses=await collector_pauses(session, metrics) - before if metrics else None,
                )

            measured = await self.window(f"r{n + 1} {who} {rate:g} votes/s", measure)
            if measured.pauses is not None:
                self.samples.add(f"long pauses@{rate:g}", who, measured.pauses.long)
                self.samples.add(f"pause ms@{rate:g}", who, 1000 * measured.pauses.seconds)
            self.samples.add(f"p50@{rate:g}", who, measured.percentile(0.5))
            self.samples.add(f"p99@{rate:g}", who, measured.percentile(0.99))
            self.samples.add(f"skipped@{rate:g}", who, measured.skipped)
            self.samples.add(f"unfinished@{rate:g}", who, measured.unfinished)
            server_cpu = measured.spent.per(measured.votes)[0]
            self.samples.add(f"server ms/vote@{rate:g}", who, 1000 * server_cpu)
        await unseat_everyone(tables, plan.connect_concurrency)

    async def stop(self) -> None:
        """Stop every server."""
        await asyncio.gather(self.bare.stop(), self.a.stop(), self.b.stop())


async def collector_pauses(session: aiohttp.ClientSession, urls: tuple[str, ...]) -> Pauses:
    """The passes of the garbage collector, of any generation, so far in the servers at
    `urls`, from their metrics (`agiletoolbox_gc_pause_seconds`)."""
    short = f'le="{LONG_PAUSE_SECONDS}"'  # the passes no longer than that
    passes = long = 0
    seconds = 0.0
    for url in urls:
        async with session.get(f"{url}/metrics") as response:
            text = await response.text()
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name.startswith("agiletoolbox_gc_pause_seconds_count{"):
                passes += int(float(value))
                long += int(float(value))
            elif name.startswith("agiletoolbox_gc_pause_seconds_sum{"):
                seconds += float(value)
            elif name.startswith("agiletoolbox_gc_pause_seconds_bucket{") and short in name:
                long -= int(float(value))
    return Pauses(passes, long, seconds)


async def start_profiler(
    output: Path | None, pid: int, seconds: float
) -> asyncio.subprocess.Process | None:
    """py-spy sampling `pid` for `seconds` into `output` (raw stacks), when asked for:
    only while it holds the GIL, so the samples are where its CPU goes (sampling the wall
    clock puts a server in `send` while the process it woke up runs)."""
    if output is None:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "-p", str(pid), "-f", "raw", "-r", "250", "--gil"]
    command += ["-d", str(max(1, round(seconds))), "-o", str(output)]
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


async def measure(server: str, plan: Plan, folder: Path, options: argparse.Namespace) -> Bench:
    """Run every round against a scratch database on `server`."""
    database = await create_database(server)
    bench = Bench(database, plan, folder, options)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await bench.start(session)
            for n in range(plan.rounds):
                await bench.round(session, n)
        return bench
    finally:
        await bench.stop()
        await drop_database(server, database)


def say(step: str) -> None:
    """A progress note with the time since the start (on standard error: the report and
    the windows' lines are standard output)."""
    print(f"  ... [{time.perf_counter() - STARTED:4.0f} s] {step}", file=sys.stderr, flush=True)


def add_disturbed(parser: argparse.ArgumentParser) -> None:
    """The option of how much other processes' CPU makes a window be measured again."""
    parser.add_argument(
        "--disturbed",
        type=float,
        default=0.1,
        metavar="CORES",
        help="other processes' CPU above which a window is measured again (default 0.1)",
    )


async def main() -> None:
    """Parse the options, run the rounds on a scratch database, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round (about a minute)")
    parser.add_argument("--rounds", type=int, help="rounds of bare and ours (default 5)")
    parser.add_argument("--participants", type=int, help="connected participants (x8 rooms)")
    parser.add_argument("--rate", type=float, help="the one votes/s offered in latency windows")
    parser.add_argument(
        "--votes-only", action="store_true", help="votes/s and CPU only (no latency, no RSS)"
    )
    add_disturbed(parser)
    parser.add_argument(
        "--profile",
        type=Path,
        help=(
            "write py-spy's raw stacks of server A in the first ours votes/s window here"
            " (and of the bare server in its window to NAME.bare.SUFFIX), sampled while"
            " it holds the GIL"
        ),
    )
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.bare_server:
        await serve_bare(options.bare_server, BUDGET_SECONDS)
        return
    if options.profile and not Path(sys.executable).with_name("py-spy").exists():
        parser.error("--profile needs py-spy: pip install py-spy")
    plan = QUICK if options.quick else FULL
    if options.rounds:
        plan = dataclasses.replace(plan, rounds=options.rounds)
    if options.participants:
        plan = dataclasses.replace(plan, participants=options.participants)
    if options.rate:
        plan = dataclasses.replace(plan, rates=(options.rate,))
    started, load = time.perf_counter(), os.getloadavg()[0]
    with postgres_server() as server, tempfile.TemporaryDirectory(prefix="live-bench-") as folder:
        async with asyncio.timeout(BUDGET_SECONDS):
            bench = await measure(server, plan, Path(folder), options)
    report(
        bench.plan,
        bench.samples,
        bench.quiet,
        quick=options.quick,
        votes_only=options.votes_only,
        load=(load, os.getloadavg()[0]),
    )
    print(f"(run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main())
