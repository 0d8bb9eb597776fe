"""PostgreSQL backends killed under load: pooled connections, and the listener's.

A pooled backend killed mid-load fails at most the one request using it (an idle one is
replaced unseen). A killed listener reconnects and re-reads the rooms its process holds,
so every open socket converges to the database's state within 2 s.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import asyncpg

from agiletoolbox.adapters.postgres.listener import APPLICATION_NAME
from tests.reliability.conftest import Figures
from tests.reliability.kit import Fleet, Seat, call, eventually, sized

ROOMS = sized(4, 16)
MEMBERS = sized(5, 8)
KILLS = sized(4, 20)
CONVERGE_TARGET = 2.0


async def terminate(database_url: str, *, listener: bool) -> int:
    """Terminate the app's pooled backends (or its listener's); how many were killed."""
    admin = await asyncpg.connect(database_url)
    try:
        killed = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' AND (application_name = $1) = $2",
            APPLICATION_NAME,
            listener,
        )
        return len(killed)
    finally:
        await admin.close()


class Load:
    """Every member of every room votes over REST, alternating cards, until stopped."""

    def __init__(
        self, fleet: Fleet, session: aiohttp.ClientSession, rooms: list[tuple[str, list[str]]]
    ) -> None:
        self.fleet = fleet
        self.session = session
        self.rooms = rooms
        self.running = True
        self.done = 0
        self.failed = 0
        self.failures: dict[int, int] = {}
        self.last_change = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.running = True
        self._tasks = [
            asyncio.create_task(self._vote(room_id, person, n))
            for room_id, people in self.rooms
            for n, person in enumerate(people)
        ]

    async def stop(self) -> None:
        self.running = False
        await asyncio.gather(*self._tasks)

    async def _vote(self, room_id: str, person: str, offset: int) -> None:
        turn = offset
        while self.running:
            turn += 1
            url = f"{self.fleet.urls[0]}/api/rooms/{room_id}/vote"
            card = ("3", "5", "8")[turn % 3]
            status, _ = await call(
                self.session, "PUT", url, headers=self.fleet.auth(person), body={"card": card}
            )
            if status == 200:
                self.done += 1
                self.last_change = time.perf_counter()
            else:
                self.failed += 1
                self.failures[status] = self.failures.get(status, 0) + 1
            await asyncio.sleep(0.01)


async def test_a_killed_pooled_backend_fails_at_most_its_own_request(
    fleet: Fleet, session: aiohttp.ClientSession, figures: Figures
) -> None:
    load = Load(fleet, session, await fleet.seed(ROOMS, MEMBERS))
    load.start()
    killed = 0
    try:
        for _ in range(KILLS):
            await asyncio.sleep(0.5)
            killed += await terminate(fleet.database_url, listener=False)
        await asyncio.sleep(0.5)
    finally:
        await load.stop()
    figures(
        "pooled backends killed",
        kills=KILLS,
        connections_killed=killed,
        requests=load.done + load.failed,
        failed_requests=load.failed,
        failures_by_status=load.failures,
    )
    assert killed >= KILLS, "every round killed at least one backend"
    assert load.failed <= killed


async def test_a_killed_listener_lets_every_socket_converge(
    fleet: Fleet, session: aiohttp.ClientSession, figures: Figures
) -> None:
    rooms = await fleet.seed(ROOMS, MEMBERS)
    seats: list[Seat] = []
    for room_id, people in rooms:
        seats += [await fleet.seat(session, fleet.urls[0], room_id, p) for p in people]
    load = Load(fleet, session, rooms)
    convergence: list[float] = []
    try:
        for _ in range(KILLS):
            load.start()
            await asyncio.sleep(0.3)
            assert await terminate(fleet.database_url, listener=True) == 1
            await asyncio.sleep(0.5)  # changes keep coming while the listener is away
            await load.stop()
            last_change = load.last_change
            versions = {room_id: await fleet.room_version(room_id) for room_id, _ in rooms}
            converged = await eventually(
                lambda versions=versions: all(s.version == versions[s.room_id] for s in seats),
                within=10,
            )
            assert converged, "every socket reached the database's version"
            convergence.append(time.perf_counter() - last_change)
    finally:
        await asyncio.gather(*(seat.close() for seat in seats))
    figures(
        "listener killed",
        kills=KILLS,
        sockets=len(seats),
        votes=load.done,
        failed_requests=load.failed,
        failures_by_status=load.failures,
        worst_convergence_s=max(convergence),
    )
    assert load.failed == 0, "the pool is untouched by the listener's loss"
    assert max(convergence) <= CONVERGE_TARGET
