"""SIGTERM with many open sockets and requests in flight: 1001 for all, no 5xx.

The process drains (readiness red), finishes what is in flight, closes every socket with
1001 (going away) so clients reconnect elsewhere, and exits 0. A request that finds the
listener closed is refused at the TCP level, which a balancer retries; none gets a 5xx.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import aiohttp

from tests.reliability.conftest import Figures
from tests.reliability.kit import Fleet, Seat, bounded, call, eventually, sized

SOCKETS = sized(240, 1000)
ROOM_SIZE = 8
WORKERS = 16


async def test_sigterm_closes_every_socket_with_1001_and_answers_no_5xx(
    fleet: Fleet, session: aiohttp.ClientSession, figures: Figures
) -> None:
    rooms = await fleet.seed(SOCKETS // ROOM_SIZE, ROOM_SIZE)
    url = fleet.urls[0]
    seats: list[Seat] = []

    def opener(room_id: str, person: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            seats.append(await fleet.seat(session, url, room_id, person))

        return run

    started = time.perf_counter()
    await bounded((opener(r, p) for r, people in rooms for p in people), 50)
    opened_in = time.perf_counter() - started
    statuses: Counter[int] = Counter()
    stopping = False

    async def in_flight(n: int) -> None:
        room_id, people = rooms[n % len(rooms)]
        person = people[n % ROOM_SIZE]
        turn = 0
        while not stopping:
            turn += 1
            status, _ = await call(
                session,
                "PUT",
                f"{url}/api/rooms/{room_id}/vote",
                headers=fleet.auth(person),
                body={"card": ("3", "5")[turn % 2]},
            )
            statuses[status] += 1
            if status == 0:
                await asyncio.sleep(0.05)  # refused: the listener is closed

    workers = [asyncio.create_task(in_flight(n)) for n in range(WORKERS)]
    await asyncio.sleep(1.0)
    process = fleet.processes[0].process
    assert process is not None
    sent_at = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(process.wait(), timeout=60)
    exited_in = time.perf_counter() - sent_at
    stopping = True
    await asyncio.gather(*workers)
    assert await eventually(lambda: all(s.closed.is_set() for s in seats), within=10)
    codes = Counter(seat.close_code for seat in seats)
    await asyncio.gather(*(seat.close() for seat in seats))
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    figures(
        "SIGTERM with open sockets",
        sockets=len(seats),
        opened_in_s=opened_in,
        requests=sum(statuses.values()),
        statuses=dict(sorted(statuses.items())),
        close_codes=dict(codes),
        exit_code=code,
        exited_in_s=exited_in,
    )
    assert code == 0, fleet.logs()
    assert codes == {1001: len(seats)}
    assert len(seats) == SOCKETS
    assert server_errors == 0
    assert statuses[200] > 0
