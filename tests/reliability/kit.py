"""What the reliability scenarios are built from: sizes, a fleet of `serve` processes, seats.

Every scenario runs real `python -m agiletoolbox serve` processes against PostgreSQL and a
simulated Jira site, and talks to them as browsers do: REST calls with the context token
Jira mints, live sockets opened with tickets. Tickets are minted here with the key the
servers derive from the shared secret key, as any process of the deployment would.

Sizes: short by default (the whole battery runs in CI within a few minutes on two cores);
`AGILETOOLBOX_RELIABILITY=full` selects the sizes and durations `docs/reliability.md`
reports.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.containers import ticket_key
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.simulator import JiraSimulator, User
from tests.e2e.conftest import ServeProcess, free_port
from tests.livekit import LiveReader

T = TypeVar("T")

FULL = os.environ.get("AGILETOOLBOX_RELIABILITY", "short") == "full"
"""Whether the full sizes and durations were asked for."""

SITE = "acme"
WAIT = 10.0
"""Seconds any one expected message may take (generous: the machine may be busy)."""


def sized(short: T, full: T) -> T:
    """The short figure, or the full one when `AGILETOOLBOX_RELIABILITY=full`."""
    return full if FULL else short


# -- figures ------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` (0..1) percentile of `values`, nearest rank; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of (x, y) points."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def rss_kib(pid: int) -> int:
    """A process's resident set size (VmRSS) in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1])


# -- calls --------------------------------------------------------------------------------


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: object = None,
    within: float = WAIT,
) -> tuple[int, Any]:
    """One request: (status, JSON body or None); status 0 when no answer came at all."""
    try:
        async with session.request(
            method,
            url,
            headers=headers,
            json=body,
            timeout=aiohttp.ClientTimeout(total=within),
        ) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, None
    except (aiohttp.ClientError, TimeoutError, ConnectionError):
        return 0, None


async def bounded(jobs: Iterable[Callable[[], Awaitable[None]]], concurrency: int) -> None:
    """Run the jobs, at most `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(run(job) for job in jobs))


async def eventually(check: Callable[[], bool], *, within: float) -> bool:
    """Whether `check()` came to hold within `within` seconds."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()


# -- a live socket ------------------------------------------------------------------------


class Seat:
    """One person's open socket, read all along: the newest version seen, acks by id."""

    def __init__(self, account: str, room_id: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.account = account
        self.room_id = room_id
        self.ws = ws
        self.version = 0
        self.room: dict[str, Any] | None = None
        self.seen_at: dict[int, float] = {}
        self.answers: dict[object, asyncio.Future[dict[str, Any]]] = {}
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        page = LiveReader(self.ws)
        try:
            async for message in self.ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                for body in page.take(json.loads(message.data)):
                    self._note(body)
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()
            for waiting in self.answers.values():
                if not waiting.done():
                    waiting.set_exception(ConnectionError("the socket closed"))

    def _note(self, body: dict[str, Any]) -> None:
        if body["type"] == "room":
            version = body["room"]["version"]
            if version > self.version:
                self.version = version
                self.room = body["room"]
                self.seen_at[version] = time.perf_counter()
        elif body["type"] in ("ack", "error"):
            waiting = self.answers.pop(body["id"], None)
            if waiting is not None and not waiting.done():
                waiting.set_result(body)

    async def command(self, op: str, request_id: str, **body: object) -> dict[str, Any]:
        """Send a command and wait for its `ack` or `error`."""
        answer = asyncio.get_running_loop().create_future()
        self.answers[request_id] = answer
        await self.ws.send_json({"op": op, "id": request_id, **body})
        async with asyncio.timeout(WAIT):
            result: dict[str, Any] = await answer
        return result

    async def close(self) -> None:
        """Close the socket and stop reading."""
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await self.ws.close()
        await self._reader


# -- the fleet ----------------------------------------------------------------------------


LOAD_LIMITS: Mapping[str, str] = {
    "limit_requests_per_minute_person": "1000000",
    "limit_requests_per_minute_site": "10000000",
    "limit_commands_per_second": "1000",
    "limit_sockets_per_person": "1000",
}
"""Limits a load generator (a few accounts acting for many people) stays under; the
hostile-input scenario runs with the product's defaults instead."""


class Fleet:
    """`count` serve processes on one database, one secret key, one public base URL.

    The simulated site `acme` installs the app through the first process; every process
    verifies the tokens Jira mints for that base URL, as one deployment behind a balancer.
    """

    def __init__(
        self,
        jira: JiraSimulator,
        database_url: str,
        folder: Path,
        count: int = 1,
        limits: Mapping[str, str] = LOAD_LIMITS,
    ) -> None:
        self.jira = jira
        self.database_url = database_url
        secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.keys = KeyRing.parse(secret)
        self.tickets = TicketBook(ticket_key(self.keys), SystemClock())
        first = free_port()
        settings = {
            "env": "test",
            "base_url": f"http://127.0.0.1:{first}",
            "database_url": database_url,
            "secret_key": secret,
            "install_keys_url": jira.install_keys_url,
            "personal_data_url": jira.personal_data_url,
            **limits,
        }
        ports = [first, *(free_port() for _ in range(count - 1))]
        self.processes = [
            ServeProcess(f"serve-{n}", port, settings, folder) for n, port in enumerate(ports)
        ]
        self._tokens: dict[str, tuple[float, str]] = {}

    @property
    def urls(self) -> list[str]:
        """Each process's own URL."""
        return [process.url for process in self.processes]

    @property
    def tenant(self) -> TenantKey:
        """The simulated site's tenant key."""
        return TenantKey(self.jira.site(SITE).client_key)

    async def start(self, session: aiohttp.ClientSession) -> None:
        """Start every process and install the app (the database is the scenario's own)."""
        await asyncio.gather(*(process.start() for process in self.processes))
        await asyncio.gather(*(process.wait_until_up(session) for process in self.processes))
        await self.jira.install(SITE, self.processes[0].url)

    async def stop(self) -> list[int]:
        """SIGTERM every process; their exit statuses."""
        return list(await asyncio.gather(*(process.stop() for process in self.processes)))

    def logs(self) -> str:
        """Every process's log, for a failure message."""
        return "\n".join(f"--- {p.log_path.name}\n{p.log()[-4000:]}" for p in self.processes)

    def pid(self, index: int = 0) -> int:
        """The process id of one process."""
        process = self.processes[index].process
        assert process is not None
        return process.pid

    # -- people, rooms, credentials ------------------------------------------------------

    def person(self, name: str) -> str:
        """The account id of a person of the site (added to the site when new)."""
        site = self.jira.site(SITE)
        account = f"5f8a1b2c3d4e-{name}"
        if account not in site.users:
            site.add_user(User(account, f"Person {name}", f"{name}@example.com"))
        return account

    def auth(self, account: str) -> dict[str, str]:
        """The headers of a REST call by `account` (a context token, reused for a minute)."""
        now = time.monotonic()
        cached = self._tokens.get(account)
        if cached is None or now - cached[0] > 60:
            cached = (now, self.jira.context_token(SITE, user=account))
            self._tokens[account] = cached
        return {"Authorization": f"JWT {cached[1]}"}

    async def seed(
        self, rooms: int, members: int, *, config: RoomConfig | None = None
    ) -> list[tuple[str, list[str]]]:
        """`rooms` rooms of `members` voters each (the first owns it), written directly."""
        now = SystemClock().now()
        seeded: list[tuple[str, list[str]]] = []
        async with open_pool(self.database_url, min_size=1, max_size=1) as pool:
            database = PostgresDatabase(pool, self.keys)
            async with database.unit_of_work() as work:
                for n in range(rooms):
                    people = [self.person(f"r{n}-m{k}") for k in range(members)]
                    room = Room.open(
                        self.tenant,
                        RoomId.generate(),
                        IssueKey(f"LOAD-{n + 1}"),
                        AccountId(people[0]),
                        config or RoomConfig(),
                        now,
                    )
                    for person in people[1:]:
                        room.join(AccountId(person), Role.VOTER, now)
                    await work.rooms.add(room)
                    seeded.append((room.id.value, people))
                await work.commit()
        return seeded

    async def seat(
        self, session: aiohttp.ClientSession, url: str, room_id: str, account: str
    ) -> Seat:
        """`account`'s socket on the process at `url`, once its first view arrived."""
        ticket = self.tickets.issue(Caller(self.tenant, AccountId(account)), RoomId(room_id))
        ws = await session.ws_connect(
            f"{url}/api/rooms/{room_id}/live", params={"ticket": ticket}, heartbeat=None
        )
        seat = Seat(account, room_id, ws)
        if not await eventually(lambda: seat.version > 0, within=WAIT):
            raise AssertionError(f"no first view on a socket of {url}")
        return seat

    async def room_version(self, room_id: str) -> int:
        """The room's version as the database holds it."""
        async with open_pool(self.database_url, min_size=1, max_size=1) as pool:
            version: int = await pool.fetchval(
                "SELECT version FROM rooms WHERE room_id = $1", room_id
            )
            return version
