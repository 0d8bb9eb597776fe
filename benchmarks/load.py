"""The live benchmark's load generator and the servers it drives.

Seats are open client sockets, one per participant, read all along; a table is a room of
8 seats whose first member votes while the 7 others wait for the new version. The same
tables drive our server and the bare one: only the address differs.

The wire protocol is changing, so the reader takes what any shape brings: the version of
a full view `{"type": "room", "room": {..., "version": n}}` or of a patch `{"type":
"patch", "from": n0, "version": n1, "room": {...}}` (or with the version inside its
`room`); an ack of its own `{"type": "ack", "id": ...}`, or one folded into a view or a
patch (an `ack` key), or a view folded into an ack. It ignores types it does not know and
counts the bytes received, since sending less is a goal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.ids import AccountId, IssueKey, ProjectKey, RoomId, SessionId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import RefinementSession, SessionMode
from agiletoolbox.domain.tenant import ProductType, Region, Tenant

SITE = TenantKey("bench:live/site")
BENCH_SECRET = "bench-live-secret"  # noqa: S105 - a throwaway tenant of a throwaway database
ROOM_SIZE = 8
THROUGHPUT_ROOMS = 8  # rooms voting side by side in the votes/s windows
HOST = "127.0.0.1"
WAIT_SECONDS = 10.0  # the longest any one expected message may take


# -- server processes ---------------------------------------------------------------------


class Process:
    """A server in a process of its own, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = folder / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.process is not None, f"{self.name} is not started"
        return self.process.pid

    async def start(self) -> None:
        """Start the process (see `wait_for` for when it is ready)."""
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
        status = Path(f"/proc/{self.pid}/status").read_text()
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


def bare_process(script: str, port: int, database: str, secret: str, folder: Path) -> Process:
    """The bare room server (`bare_room.py`), run by `script --bare-server PORT`."""
    env = dict(os.environ, BARE_ROOM_DATABASE_URL=database, BARE_ROOM_SECRET_KEY=secret)
    args = [sys.executable, script, "--bare-server", str(port)]
    return Process("bare", args, env, folder)


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# -- rooms, seats and votes ---------------------------------------------------------------


async def seed(url: str, keys: KeyRing, rooms: int) -> list[tuple[RoomId, list[AccountId]]]:
    """The tenant and `rooms` rooms of 8 members each (the owner votes; 7 peers watch)."""
    async with open_pool(url, min_size=1, max_size=2) as pool:
        seeded = await seed_rooms(PostgresDatabase(pool, keys), rooms, ROOM_SIZE)
        async with pool.acquire() as connection:
            await connection.execute("ANALYZE")  # as a live database would have statistics
    return seeded


async def seed_rooms(
    database: PostgresDatabase, rooms: int, size: int
) -> list[tuple[RoomId, list[AccountId]]]:
    """The benchmark's tenant and `rooms` rooms of `size` voters, the first the owner."""
    now = SystemClock().now()
    seeded: list[tuple[RoomId, list[AccountId]]] = []
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
            people = [AccountId(f"557058:live-{n}-{k}") for k in range(size)]
            room = Room.open(
                SITE, RoomId.generate(), IssueKey(f"LIVE-{n + 1}"), people[0], RoomConfig(), now
            )
            for person in people[1:]:
                room.join(person, Role.VOTER, now)
            await work.rooms.add(room)
            seeded.append((room.id, people))
        await work.commit()
    return seeded


async def seed_session(
    url: str, keys: KeyRing, rooms: list[tuple[RoomId, list[AccountId]]]
) -> None:
    """A refinement session of the benchmark's project whose queue holds `rooms` (taken
    over as they are), the first of them current."""
    now = SystemClock().now()
    async with open_pool(url, min_size=1, max_size=2) as pool:
        database = PostgresDatabase(pool, keys)
        async with database.unit_of_work() as work:
            held = [await work.rooms.get(SITE, room_id) for room_id, _people in rooms]
            owner = rooms[0][1][0]
            session = RefinementSession.open(
                SITE,
                SessionId.generate(),
                ProjectKey("LIVE"),
                owner,
                RoomConfig(),
                SessionMode.LIVE,
                [room.issue_key for room in held],
                now,
            )
            session.start_issue(owner, held[0].issue_key, now)
            for room in held:
                session.room_opened(room.issue_key, room.id, now, opened=False)
            await work.sessions.add(session)
            await work.commit()


@dataclass
class Tally:
    """What the seats of a set of tables received in a window."""

    latencies: list[float] = field(default_factory=list)  # vote -> each peer, seconds
    received: int = 0  # bytes of every text message
    views: int = 0  # full views and patches
    view_bytes: int = 0

    def reset(self) -> None:
        """Start a new window."""
        self.latencies.clear()
        self.received = self.views = self.view_bytes = 0


def version_of(body: dict[str, Any]) -> int | None:
    """The room version a message brings: a patch's own, else its full view's."""
    version = body.get("version")
    if isinstance(version, int):
        return version
    room = body.get("room")
    if isinstance(room, dict) and isinstance(room.get("version"), int):
        return int(room["version"])
    return None


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
        self,
        session: aiohttp.ClientSession,
        server: str,
        tickets: TicketBook,
        gate: asyncio.Semaphore,
    ) -> None:
        """Connect to `server` and wait for the first view (at most `gate`'s many at once)."""
        async with gate:
            # Tickets live one minute: mint each one just before it is used.
            ticket = tickets.issue(Caller(SITE, self.account, None), self.table.room_id)
            self.greeted = asyncio.Event()
            # Clients offer permessage-deflate, as browsers do; the server decides.
            self.ws = await session.ws_connect(
                f"{server}/api/rooms/{self.table.room_id}/live",
                params={"ticket": ticket},
                compress=15,
            )
            self.reader = asyncio.create_task(self._read(self.ws))
            await asyncio.wait_for(self.greeted.wait(), WAIT_SECONDS)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        tally = self.table.tally
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            size = len(message.data)  # JSON of ids, numbers and card labels: ASCII
            tally.received += size
            body = orjson.loads(message.data)
            kind = body.get("type")
            if kind == "error":
                raise RuntimeError(f"the server refused a vote: {body}")
            if kind in ("room", "patch"):
                tally.views += 1
                tally.view_bytes += size
            if kind in ("room", "patch", "ack"):
                version = version_of(body)
                if version is not None:
                    self.table.seen(self, version)
            if kind == "ack" or "ack" in body:  # an ack of its own, or folded into a view
                self.table.acked()

    async def close(self, gate: asyncio.Semaphore) -> None:
        """Close the socket and wait for the reader to end."""
        async with gate:
            if self.ws is not None:
                await self.ws.close()
            if self.reader is not None:
                await self.reader


class Table:
    """One room: its first member votes, the other seven watch for the new version."""

    def __init__(self, room_id: RoomId, people: list[AccountId], tally: Tally) -> None:
        self.room_id = room_id
        self.seats = [Seat(self, person) for person in people]
        self.tally = tally
        self.votes = 0
        self.sent_at = 0.0
        self.waiting: dict[Seat, int] = {}
        self.unacked = False
        self.done = asyncio.Event()
        self.done.set()

    async def vote(self) -> None:
        """Send the voter's next card (alternating: the same card again would withdraw)."""
        voter = self.seats[0]
        assert voter.ws is not None
        self.votes += 1
        self.waiting = {seat: seat.version for seat in self.seats[1:]}
        self.unacked = True
        self.done.clear()
        self.sent_at = time.perf_counter()
        card = "3" if self.votes % 2 else "5"
        message = {"op": "vote", "card": card, "id": self.votes}
        await voter.ws.send_str(orjson.dumps(message).decode())

    def seen(self, seat: Seat, version: int) -> None:
        """`seat` received `version` of the room."""
        seat.greeted.set()
        if version <= seat.version:
            return
        seat.version = version
        since = self.waiting.get(seat)
        if since is not None and version > since:
            del self.waiting[seat]
            self.tally.latencies.append(time.perf_counter() - self.sent_at)
            self._check()

    def acked(self) -> None:
        """The voter's vote was acknowledged."""
        self.unacked = False
        self._check()

    def abandon(self) -> None:
        """Forget a vote that never finished, so that it does not block the next window."""
        self.waiting.clear()
        self.unacked = False
        self.done.set()

    def _check(self) -> None:
        if not self.waiting and not self.unacked:
            self.done.set()


def tables_of(seeded: list[tuple[RoomId, list[AccountId]]]) -> list[Table]:
    """A table per seeded room, all counting into one tally."""
    tally = Tally()
    return [Table(room_id, people, tally) for room_id, people in seeded]


async def seat_everyone(
    session: aiohttp.ClientSession,
    tables: list[Table],
    tickets: TicketBook,
    server_of: dict[int, str] | str,
    concurrency: int,
) -> None:
    """Open every member's socket, `concurrency` connecting at a time.

    `server_of` is one server's URL, or a URL per seat index (0 is the voter).
    """
    gate = asyncio.Semaphore(concurrency)
    await asyncio.gather(
        *(
            seat.open(
                session,
                server_of if isinstance(server_of, str) else server_of[index],
                tickets,
                gate,
            )
            for table in tables
            for index, seat in enumerate(table.seats)
        )
    )


async def unseat_everyone(tables: list[Table], concurrency: int) -> None:
    """Close every member's socket, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)
    await asyncio.gather(*(seat.close(gate) for table in tables for seat in table.seats))


async def closed_loop(tables: list[Table], seconds: float) -> int:
    """Votes done in `seconds`, each room voting again once its last vote was acked and seen."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def room(table: Table) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await table.vote()
            await asyncio.wait_for(table.done.wait(), WAIT_SECONDS)
            done += 1

    await asyncio.gather(*(room(table) for table in tables))
    return done


@dataclass(frozen=True)
class Offered:
    """What an open-loop run sent."""

    sent: int
    skipped: int
    unfinished: int
    seconds: float


async def open_loop(tables: list[Table], rate: float, seconds: float) -> Offered:
    """Votes at a fixed rate, round robin over the rooms, until every one is delivered.

    A room whose last vote is still under way when its turn comes skips the turn (counted):
    the offered rate is a ceiling, never a queue that grows.
    """
    sent = skipped = 0
    total = int(rate * seconds)
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
            await asyncio.gather(*(table.done.wait() for table in tables))
    unfinished = sum(not table.done.is_set() for table in tables)
    for table in tables:
        table.abandon()
    return Offered(sent, skipped, unfinished, elapsed)
