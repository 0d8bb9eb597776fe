"""Live-room benchmark: votes persisted and broadcast over WebSockets, against bare baselines.

Run by hand: `.venv/bin/python benchmarks/live.py [--quick]` (`--quick` is a small version
that ends within a minute). PostgreSQL is chosen as for the tests
(`AGILETOOLBOX_TEST_DATABASE_URL`, else the local server, else an embedded one); a scratch
database is created, migrated and dropped. All traffic stays on 127.0.0.1.

What one run measures, every figure next to its baseline from the same run:

1. Bare aiohttp WebSocket echo: round trips/s over one connection, 256-byte text messages,
   sequential, to an echo server in a process of its own (this script, `--echo-server`).
2. Bare asyncpg upserts/s, exactly as `benchmarks/storage.py` measures them (concurrency 8).
3. Our votes/s: two real `python -m agiletoolbox serve` processes (A and B) share the
   database and the secret key. Eight 8-person rooms have every member's socket open on A
   (tickets minted with the key the servers derive from the shared secret). Per room, one
   member votes over their socket and waits for the ack and for the new version to reach
   the 7 others; the 8 rooms run side by side, as the 8 workers of the bare upserts do.
4. Vote -> peers latency at 1,000 connected participants (125 rooms of 8) and an offered
   500 votes/s spread over the rooms (open loop): from the moment the vote leaves the
   voter's socket to the moment each of the 7 peers holds a newer version. Once with all
   sockets on A (same process), once with the voters on A and their peers on B (the change
   travels A -> PostgreSQL NOTIFY -> B).
5. RSS per connected participant: VmRSS of server A before and after its 1,000 sockets
   opened (and received their first view), divided by 1,000.

Every client socket offers permessage-deflate, as browsers do; the server decides. Each
figure that has a target is printed next to it, with the CPU each vote cost the servers,
PostgreSQL (its local processes) and the load generator, to show where the time goes.
`--participants N` and `--rate R` change the latency runs (to find where they bend).

The load generator is one asyncio process with aiohttp client sockets; every loop is
bounded in count and in time. On a 2-core machine the load generator, the servers and
PostgreSQL share the cores, so latencies include the load generator's own delays.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import orjson
from aiohttp import web
from benchmarks.storage import bare
from tests.integration.database import create_database, drop_database, postgres_server
from tests.reliability.kit import bounded

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.containers import ticket_key
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.tenant import ProductType, Region, Tenant

SITE = TenantKey("bench:live/site")
BENCH_SECRET = "bench-live-secret"  # noqa: S105 - a throwaway tenant of a throwaway database
ROOM_SIZE = 8
THROUGHPUT_ROOMS = 8  # as many rooms voting side by side as bare upsert workers
ECHO_BYTES = 256
HOST = "127.0.0.1"
BUDGET_SECONDS = 600.0  # the whole run stops here whatever happens
WAIT_SECONDS = 10.0  # the longest any one expected message may take
SCRIPT = str(Path(__file__).resolve())


@dataclass(frozen=True)
class Plan:
    """How big and how long each measurement is."""

    seconds: float  # each rate measurement
    participants: int
    votes_per_second: float
    latency_seconds: float
    connect_concurrency: int = 50

    @property
    def rooms(self) -> int:
        """Rooms of the latency runs."""
        return self.participants // ROOM_SIZE


FULL = Plan(seconds=5.0, participants=1000, votes_per_second=500, latency_seconds=10.0)
QUICK = Plan(seconds=1.5, participants=200, votes_per_second=200, latency_seconds=3.0)


# -- the echo baseline --------------------------------------------------------------------


async def serve_echo(port: int) -> None:
    """The echo server (run in a process of its own by `--echo-server PORT`)."""

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                await ws.send_str(message.data)
        return ws

    async def up(_request: web.Request) -> web.Response:
        return web.Response(text="up")

    app = web.Application()
    app.router.add_get("/echo", echo)
    app.router.add_get("/healthz", up)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=BUDGET_SECONDS)
    await runner.cleanup()


async def echo_rate(session: aiohttp.ClientSession, url: str, seconds: float) -> float:
    """Sequential round trips/s of 256-byte text messages over one connection."""
    payload = "x" * ECHO_BYTES
    async with session.ws_connect(url) as ws:

        async def trips(duration: float) -> int:
            done, deadline = 0, time.perf_counter() + duration
            while time.perf_counter() < deadline:
                await ws.send_str(payload)
                answer = await asyncio.wait_for(ws.receive(), WAIT_SECONDS)
                assert answer.data == payload
                done += 1
            return done

        await trips(seconds / 5)  # warm-up
        started = time.perf_counter()
        done = await trips(seconds)
        return done / (time.perf_counter() - started)


# -- server processes ---------------------------------------------------------------------


class Process:
    """A server in a process of its own, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = folder / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.args, env=self.env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
            )

    async def wait_for(self, url: str, session: aiohttp.ClientSession) -> None:
        """Return once `url` answers 200 (or fail, showing the log, within 60 s)."""
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            assert self.process is not None
            if self.process.returncode is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not come up:\n{self.log.read_text()[-3000:]}")

    def rss_kib(self) -> int:
        """The process's resident set size (VmRSS) in KiB."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1])

    async def stop(self) -> None:
        """SIGTERM; SIGKILL after 20 s."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=20)
        except TimeoutError:
            process.kill()
            await process.wait()


def serve_process(name: str, port: int, settings: dict[str, str], folder: Path) -> Process:
    """`python -m agiletoolbox serve` on `port` with the shared settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGILETOOLBOX_")}
    env.update({f"AGILETOOLBOX_{k.upper()}": v for k, v in settings.items()})
    env["AGILETOOLBOX_PORT"] = str(port)
    env["AGILETOOLBOX_DATA_DIR"] = str(folder / name)
    args = [sys.executable, "-m", "agiletoolbox", "serve", "--no-migrate"]
    return Process(name, args, env, folder)


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# -- rooms, seats and votes ---------------------------------------------------------------


async def seed(url: str, keys: KeyRing, rooms: int) -> list[tuple[RoomId, list[AccountId]]]:
    """The tenant and `rooms` rooms of 8 members each (the owner votes; 7 peers watch)."""
    now = SystemClock().now()
    seeded: list[tuple[RoomId, list[AccountId]]] = []
    async with open_pool(url, min_size=1, max_size=2) as pool:
        database = PostgresDatabase(pool, keys)
        async with database.unit_of_work() as work:
            await work.tenants.save(
                Tenant.install(
                    key=SITE,
                    base_url="https://bench-live.atlassian.net",
                    shared_secret=BENCH_SECRET,
                    product_type=ProductType.JIRA,
                    region=Region.US,
                    now=now,
                )
            )
            for n in range(rooms):
                people = [AccountId(f"557058:live-{n}-{k}") for k in range(ROOM_SIZE)]
                room = Room.open(
                    SITE, RoomId.generate(), IssueKey(f"LIVE-{n + 1}"), people[0], RoomConfig(), now
                )
                for person in people[1:]:
                    room.join(person, Role.VOTER, now)
                await work.rooms.add(room)
                seeded.append((room.id, people))
            await work.commit()
        async with pool.acquire() as connection:
            await connection.execute("ANALYZE")  # as a live database would have statistics
    return seeded


class Seat:
    """One member's open socket, read all along."""

    def __init__(self, table: Table, account: AccountId) -> None:
        self.table = table
        self.account = account
        self.version = 0
        self.greeted = asyncio.Event()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None

    async def open(
        self, session: aiohttp.ClientSession, server: str, ticket: str, *, deflate: bool
    ) -> None:
        self.ws = await session.ws_connect(
            f"{server}/api/rooms/{self.table.room_id}/live",
            params={"ticket": ticket},
            compress=15 if deflate else 0,
        )
        self.reader = asyncio.create_task(self._read(self.ws))
        await asyncio.wait_for(self.greeted.wait(), WAIT_SECONDS)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            body = orjson.loads(message.data)
            kind = body["type"]
            if kind == "room":
                self.table.seen(self, body["room"]["version"])
            elif kind == "ack":
                self.table.acked()
            elif kind == "error":
                raise RuntimeError(f"the server refused a vote: {body}")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader


class Table:
    """One room: its first member votes, the other seven watch for the new version."""

    def __init__(self, room_id: RoomId, people: list[AccountId], latencies: list[float]) -> None:
        self.room_id = room_id
        self.seats = [Seat(self, person) for person in people]
        self.latencies = latencies
        self.votes = 0
        self.sent_at = 0.0
        self.waiting: dict[Seat, int] = {}
        self.unacked = False
        self.done = asyncio.Event()
        self.done.set()

    async def vote(self) -> None:
        """Send the voter's next card (alternating, so every vote changes the room)."""
        voter = self.seats[0]
        assert voter.ws is not None
        self.votes += 1
        self.waiting = {seat: seat.version for seat in self.seats[1:]}
        self.unacked = True
        self.done.clear()
        self.sent_at = time.perf_counter()
        card = "3" if self.votes % 2 else "5"
        await voter.ws.send_str(json.dumps({"op": "vote", "card": card, "id": self.votes}))

    def seen(self, seat: Seat, version: int) -> None:
        seat.greeted.set()
        if version <= seat.version:
            return
        seat.version = version
        since = self.waiting.get(seat)
        if since is not None and version > since:
            del self.waiting[seat]
            self.latencies.append(time.perf_counter() - self.sent_at)
            self._check()

    def acked(self) -> None:
        self.unacked = False
        self._check()

    def _check(self) -> None:
        if not self.waiting and not self.unacked:
            self.done.set()


def tables_of(
    seeded: Iterable[tuple[RoomId, list[AccountId]]], latencies: list[float]
) -> list[Table]:
    return [Table(room_id, people, latencies) for room_id, people in seeded]


async def seat_everyone(
    session: aiohttp.ClientSession,
    tables: list[Table],
    tickets: TicketBook,
    server_of: Callable[[int], str],
    *,
    deflate: bool,
    concurrency: int,
) -> None:
    """Open every member's socket (`server_of(seat index)` picks the server)."""

    def job(table: Table, index: int) -> Callable[[], Awaitable[None]]:
        seat = table.seats[index]

        async def run() -> None:
            # Tickets live one minute: mint each one just before it is used.
            ticket = tickets.issue(Caller(SITE, seat.account, None), table.room_id)
            await seat.open(session, server_of(index), ticket, deflate=deflate)

        return run

    await bounded((job(t, i) for t in tables for i in range(len(t.seats))), concurrency)


async def unseat_everyone(tables: list[Table], concurrency: int) -> None:
    await bounded((seat.close for t in tables for seat in t.seats), concurrency)


class CpuMeter:
    """CPU seconds spent over a span by the server processes, PostgreSQL and this process.

    PostgreSQL counts the backends of `database` and the background processes of their
    cluster (the machine may run other databases and clusters at the same time).
    """

    def __init__(self, database: str, *server_pids: int) -> None:
        self.database = urlsplit(database).path.lstrip("/")
        self.server_pids = server_pids
        self._cluster: str | None = None
        self._start = (0.0, 0.0, 0.0)
        self.spent = (0.0, 0.0, 0.0)

    @staticmethod
    def _cpu(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0  # the process ended in the meantime
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _read(self) -> tuple[float, float, float]:
        titles: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if (entry / "comm").read_text().strip() == "postgres":
                        title = (entry / "cmdline").read_bytes().decode(errors="replace")
                        titles[int(entry.name)] = title.replace("\0", " ").strip()
        postgres = sum(self._cpu(pid) for pid, title in titles.items() if self._ours(title))
        servers = sum(self._cpu(pid) for pid in self.server_pids)
        return servers, postgres, time.process_time()

    def _ours(self, title: str) -> bool:
        # "postgres: <cluster>: <user> <database> <peer> <activity>" for a client backend,
        # "postgres: <cluster>: walwriter" and the like for the cluster's own processes.
        mark = f" {self.database} "
        if mark in title:
            if self._cluster is None:
                self._cluster = title[: title.index(mark)].rsplit(" ", 1)[0]
            return True
        client = "(" in title or "[local]" in title
        return not client and self._cluster is not None and title.startswith(self._cluster)

    def start(self) -> None:
        self._read()  # learns which cluster is ours
        self._start = self._read()

    def stop(self) -> None:
        end = self._read()
        self.spent = (end[0] - self._start[0], end[1] - self._start[1], end[2] - self._start[2])

    def per(self, count: int) -> tuple[float, float, float]:
        """CPU seconds per operation, when `count` operations were done in the span."""
        servers, postgres, generator = self.spent
        return servers / count, postgres / count, generator / count


async def start_profiler(
    output: Path | None, pid: int, seconds: float
) -> asyncio.subprocess.Process | None:
    """py-spy sampling `pid` for `seconds` into `output` (raw stacks), when asked for."""
    if output is None:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "-p", str(pid), "-f", "raw", "-r", "250"]
    command += ["-d", str(max(1, round(seconds))), "-o", str(output)]
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


async def closed_loop(tables: list[Table], seconds: float, meter: CpuMeter) -> tuple[float, int]:
    """Votes/s, each room voting again once its last vote was acked and seen; and the count."""
    done = 0
    deadline = 0.0

    async def room(table: Table) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await table.vote()
            await asyncio.wait_for(table.done.wait(), WAIT_SECONDS)
            done += 1

    deadline = time.perf_counter() + seconds / 5  # warm-up
    await asyncio.gather(*(room(t) for t in tables))
    done = 0
    meter.start()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(room(t) for t in tables))
    elapsed = time.perf_counter() - started
    meter.stop()
    return done / elapsed, done


@dataclass
class Latency:
    """What an open-loop run saw."""

    offered: float
    sent: int
    skipped: int
    unfinished: int
    samples: list[float]
    cpu_per_vote: tuple[float, float, float]

    def percentile(self, share: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


async def open_loop(
    tables: list[Table], latencies: list[float], rate: float, seconds: float, meter: CpuMeter
) -> Latency:
    """Votes at a fixed rate, round robin over the rooms; latency of every peer's delivery.

    A room whose last vote is still under way when its turn comes skips the turn (counted):
    the offered rate is a ceiling, never a queue that grows.
    """
    latencies.clear()
    sent = skipped = 0
    total = int(rate * seconds)
    meter.start()
    started = time.perf_counter()
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        table = tables[n % len(tables)]
        if not table.done.is_set():
            skipped += 1
            continue
        await table.vote()
        sent += 1
    elapsed = time.perf_counter() - started
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WAIT_SECONDS):
            await asyncio.gather(*(t.done.wait() for t in tables))
    meter.stop()
    unfinished = sum(not t.done.is_set() for t in tables)
    for table in tables:  # a vote that never finished must not block the next run
        table.waiting.clear()
        table.unacked = False
        table.done.set()
    cpu = meter.per(max(sent, 1))
    return Latency(sent / elapsed, sent, skipped, unfinished, list(latencies), cpu)


# -- the run ------------------------------------------------------------------------------


@dataclass
class Figures:
    """Everything one run measured."""

    echo: float = 0.0
    upserts: float = 0.0
    votes: float = 0.0
    cpu_per_vote: tuple[float, float, float] = (0.0, 0.0, 0.0)
    same: Latency | None = None
    cross: Latency | None = None
    rss_per_participant: float = 0.0
    rss_before_mib: float = 0.0
    rss_after_mib: float = 0.0


class Bench:
    """The servers, the client session and the rooms of one run."""

    def __init__(self, database: str, plan: Plan, folder: Path) -> None:
        self.database = database
        self.plan = plan
        secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.keys = KeyRing.parse(secret)
        # The servers derive the ticket key from the shared secret key in the same way.
        self.tickets = TicketBook(ticket_key(self.keys), SystemClock())
        self.echo_port, port_a, port_b = free_port(), free_port(), free_port()
        self.url_a, self.url_b = f"http://{HOST}:{port_a}", f"http://{HOST}:{port_b}"
        settings = {
            "env": "test",
            "base_url": self.url_a,  # one public base URL for both, as behind a balancer
            "database_url": database,
            "secret_key": secret,
            "install_keys_url": f"http://{HOST}:9/install-keys",  # never called: no install
        }
        self.a = serve_process("a", port_a, settings, folder)
        self.b = serve_process("b", port_b, settings, folder)
        echo_args = [sys.executable, SCRIPT, "--echo-server", str(self.echo_port)]
        self.echo = Process("echo", echo_args, dict(os.environ), folder)
        self.latencies: list[float] = []
        self.profile: Path | None = None
        self.votes_only = False

    async def run(self, session: aiohttp.ClientSession) -> Figures:
        """Every measurement, in order."""
        figures = Figures()
        plan = self.plan
        seeded = await seed(self.database, self.keys, THROUGHPUT_ROOMS + plan.rooms)
        await asyncio.gather(self.echo.start(), self.a.start(), self.b.start())
        await asyncio.gather(
            self.echo.wait_for(f"http://{HOST}:{self.echo_port}/healthz", session),
            self.a.wait_for(f"{self.url_a}/readyz", session),
            self.b.wait_for(f"{self.url_b}/readyz", session),
        )
        say("echo round trips")
        echo_url = f"ws://{HOST}:{self.echo_port}/echo"
        figures.echo = await echo_rate(session, echo_url, plan.seconds)
        await self.echo.stop()
        say("bare upserts")
        figures.upserts = await bare(self.database, plan.seconds, THROUGHPUT_ROOMS)
        say("votes/s")
        await self.throughput(session, tables_of(seeded[:THROUGHPUT_ROOMS], []), figures)
        if self.votes_only:
            return figures
        rooms = tables_of(seeded[THROUGHPUT_ROOMS:], self.latencies)
        say(f"RSS and latency, {plan.participants} sockets on A")
        await self.one_process(session, rooms, figures)
        say(f"latency, voters on A and {plan.participants - plan.rooms} peers on B")
        await self.seat(session, rooms, lambda seat: self.url_a if seat == 0 else self.url_b)
        figures.cross = await self.latency(rooms)
        await unseat_everyone(rooms, plan.connect_concurrency)
        return figures

    async def seat(
        self, session: aiohttp.ClientSession, tables: list[Table], server_of: Callable[[int], str]
    ) -> None:
        # Clients offer permessage-deflate, as browsers do; the server decides.
        await seat_everyone(
            session,
            tables,
            self.tickets,
            server_of,
            deflate=True,
            concurrency=self.plan.connect_concurrency,
        )

    async def throughput(
        self, session: aiohttp.ClientSession, tables: list[Table], figures: Figures
    ) -> None:
        await self.seat(session, tables, lambda _: self.url_a)
        assert self.a.process is not None
        meter = CpuMeter(self.database, self.a.process.pid)
        profiler = await start_profiler(self.profile, self.a.process.pid, self.plan.seconds * 1.2)
        figures.votes, count = await closed_loop(tables, self.plan.seconds, meter)
        if profiler is not None:
            await profiler.wait()
        figures.cpu_per_vote = meter.per(count)
        await unseat_everyone(tables, self.plan.connect_concurrency)

    async def one_process(
        self, session: aiohttp.ClientSession, tables: list[Table], figures: Figures
    ) -> None:
        await asyncio.sleep(1)  # let the last closes and their presence writes settle
        before = self.a.rss_kib()
        await self.seat(session, tables, lambda _: self.url_a)
        await asyncio.sleep(1)
        after = self.a.rss_kib()
        figures.rss_before_mib, figures.rss_after_mib = before / 1024, after / 1024
        figures.rss_per_participant = (after - before) * 1024 / (len(tables) * ROOM_SIZE)
        figures.same = await self.latency(tables)
        await unseat_everyone(tables, self.plan.connect_concurrency)

    async def latency(self, tables: list[Table]) -> Latency:
        assert self.a.process is not None
        assert self.b.process is not None
        meter = CpuMeter(self.database, self.a.process.pid, self.b.process.pid)
        rate, seconds = self.plan.votes_per_second, self.plan.latency_seconds
        await open_loop(tables, self.latencies, rate, 1.0, meter)  # warm-up
        return await open_loop(tables, self.latencies, rate, seconds, meter)

    async def stop(self) -> None:
        await asyncio.gather(self.echo.stop(), self.a.stop(), self.b.stop())


async def measure(server: str, plan: Plan, folder: Path, options: argparse.Namespace) -> Figures:
    """Run every measurement against a scratch database on `server`."""
    database = await create_database(server)
    bench = Bench(database, plan, folder)
    bench.profile, bench.votes_only = options.profile, options.votes_only
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            return await bench.run(session)
    finally:
        await bench.stop()
        await drop_database(server, database)


def say(step: str) -> None:
    print(f"  ... {step}", file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(figures: Figures, plan: Plan, quick: bool, load: tuple[float, float]) -> None:
    """Print the figures, each with its target."""
    print(
        f"live rooms benchmark ({'quick' if quick else 'full'}): {os.cpu_count()} cores, "
        f"{plan.seconds:g} s per rate, {plan.participants} participants, "
        f"{plan.votes_per_second:g} votes/s offered for {plan.latency_seconds:g} s"
    )
    # Other work on the machine shows in every figure: say how busy it was.
    print(f"load average (1 min) before and after the run: {load[0]:.2f}, {load[1]:.2f}")
    rows = (
        ("WebSocket echo round trips/s (1 socket, 256 B)", figures.echo),
        (f"bare asyncpg upserts/s (concurrency {THROUGHPUT_ROOMS})", figures.upserts),
        (f"votes/s persisted + broadcast ({THROUGHPUT_ROOMS} rooms of 8)", figures.votes),
    )
    for name, rate in rows:
        print(f"{name:<52} {rate:9.0f}")
    ratio = figures.votes / figures.upserts
    print(f"  votes / bare upserts:     {ratio:6.2f}  (target >= 0.50)  {verdict(ratio >= 0.5)}")
    print(f"  votes / echo round trips: {figures.votes / figures.echo:6.2f}")
    server, postgres, generator = (1000 * cpu for cpu in figures.cpu_per_vote)
    print(
        f"  CPU per vote: server {server:.2f} ms, PostgreSQL {postgres:.2f} ms, "
        f"load generator {generator:.2f} ms"
    )
    # Everything shares this machine's cores: at the target rate each vote may cost no
    # more than this in all, which says whether the target can be met here at all.
    cores = os.cpu_count() or 1
    budget = 1000 * cores / (0.5 * figures.upserts)
    spent = server + postgres + generator
    print(
        f"  CPU budget per vote at the target rate on {cores} cores: {budget:.2f} ms "
        f"(spent {spent:.2f} ms; PostgreSQL and load generator alone "
        f"{postgres + generator:.2f} ms)"
    )
    if figures.same is None or figures.cross is None:
        return  # --votes-only
    print(f"vote -> 7 peers latency, {plan.participants} participants:")
    same_p99 = figures.same.percentile(0.99)
    for name, run in (("one process  ", figures.same), ("two processes", figures.cross)):
        p50, p99 = run.percentile(0.5), run.percentile(0.99)
        if run is figures.same:
            target = f"(target p99 <= 20 ms)  {verdict(p99 <= 20)}"
        else:
            extra = p99 - same_p99
            target = f"({extra:+.1f} ms; target <= +10 ms)  {verdict(extra <= 10)}"
        print(f"  {name}: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  {target}")
        servers, postgres, generator = (1000 * cpu for cpu in run.cpu_per_vote)
        print(
            f"                 [{run.offered:.0f} votes/s sent, {run.skipped} skipped, "
            f"{run.unfinished} unfinished, {len(run.samples)} deliveries; CPU per vote: "
            f"servers {servers:.2f} ms, PostgreSQL {postgres:.2f} ms, "
            f"load generator {generator:.2f} ms]"
        )
    kb = figures.rss_per_participant / 1000
    print(
        f"RSS per connected participant: {kb:.1f} KB  (target <= 50 KB)  {verdict(kb <= 50)}"
        f"   [server A {figures.rss_before_mib:.0f} -> {figures.rss_after_mib:.0f} MiB]"
    )


async def main() -> None:
    """Parse the options, run everything on a scratch database, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (under a minute)")
    parser.add_argument("--participants", type=int, help="connected participants (x8 rooms)")
    parser.add_argument("--rate", type=float, help="votes/s offered in the latency runs")
    parser.add_argument(
        "--votes-only", action="store_true", help="stop after votes/s (no latency runs)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write py-spy's raw stacks of server A during votes/s here (needs py-spy)",
    )
    parser.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.echo_server:
        await serve_echo(options.echo_server)
        return
    plan = QUICK if options.quick else FULL
    if options.participants:
        plan = dataclasses.replace(plan, participants=options.participants)
    if options.rate:
        plan = dataclasses.replace(plan, votes_per_second=options.rate)
    started, load = time.perf_counter(), os.getloadavg()[0]
    with postgres_server() as server, tempfile.TemporaryDirectory(prefix="live-bench-") as folder:
        async with asyncio.timeout(BUDGET_SECONDS):
            figures = await measure(server, plan, Path(folder), options)
    report(figures, plan, options.quick, (load, os.getloadavg()[0]))
    print(f"(run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main())
