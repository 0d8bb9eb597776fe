"""Reads benchmark: what structuring each stored configuration and deck once saves a read.

Run by hand: `.venv/bin/python benchmarks/reads.py [--seconds 10] [--rounds 5]
[--history 5]`. The server is chosen as for the tests (`AGILETOOLBOX_TEST_DATABASE_URL`,
else the local one, else an embedded one); a fresh database is created and dropped.

A process holding a room's peers reads the room again after every change made elsewhere
(`RoomService.get_many`, up to 100 rooms a read). The rows hold each room's configuration
and each finished round's deck as JSON text, and the texts repeat from read to read:
`rows.config_from_text` and `rows.deck_from_text` structure each distinct text once
(JSON, cattrs, the deck's validators) and hand out the same frozen value after. This
measures the CPU of this process per room read, reads of 8 rooms at a time, with those
caches as `serve` has them ("kept") against without them ("made again": every row's
text structured), the two taking turns in `--rounds` rounds; medians, with each round's ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load import SITE, seed_rooms

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.memory import MemoryJira
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, PostgresEventBus, open_pool
from agiletoolbox.adapters.postgres import rows as stored
from agiletoolbox.adapters.postgres.scratch import scratch_database
from agiletoolbox.domain.ids import RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.services.rooms import RoomService

ROOMS = 64
PER_READ = 8


async def play_rounds(database: PostgresDatabase, rooms: list[RoomId], history: int) -> None:
    """Give every room `history` finished rounds (each voted, revealed and reset)."""
    clock = SystemClock()
    async with database.unit_of_work() as work:
        for room_id in rooms:
            room = await work.rooms.get(SITE, room_id)
            owner = room.owner
            for n in range(history):
                for k, person in enumerate(room.participants):
                    room.vote(person, ("1", "2", "3", "5", "8")[(n + k) % 5], clock.now())
                if not room.revealed:
                    room.reveal(owner, clock.now())
                room.reset(owner, clock.now())
            await work.rooms.save(room)
        await work.commit()


KEPT = (stored.config_from_text, stored.deck_from_text)
MADE_AGAIN = (stored.config_from_text.__wrapped__, stored.deck_from_text.__wrapped__)


def structure_once(kept: bool) -> None:
    """Whether each distinct configuration and deck is structured once (as `serve` does)
    or at every row that holds it (the module's functions without their caches)."""
    stored.config_from_text, stored.deck_from_text = KEPT if kept else MADE_AGAIN  # type: ignore[assignment]


async def cpu_per_room(
    service: RoomService,
    batches: list[list[tuple[TenantKey, RoomId]]],
    seconds: float,
    *,
    kept: bool,
) -> float:
    """This process's CPU per room read, in microseconds, reading batches for `seconds`."""
    structure_once(kept)
    read = 0
    deadline = time.perf_counter() + seconds
    started = time.process_time()
    while time.perf_counter() < deadline:
        for keys in batches:
            found = await service.get_many(keys)
            if len(found) != len(keys) or not all(isinstance(r, Room) for r in found.values()):
                raise RuntimeError(f"a read brought back {found!r}")
            read += len(keys)
    return 1e6 * (time.process_time() - started) / read


async def run(url: str, seconds: float, rounds: int, history: int) -> dict[str, list[float]]:
    """CPU per room read of each kind, round by round."""
    async with open_pool(url, min_size=2, max_size=2) as pool:
        database = PostgresDatabase(pool, KeyRing.generate())
        rooms = [room for room, _people in await seed_rooms(database, ROOMS, 8)]
        await play_rounds(database, rooms, history)
        async with pool.acquire() as connection:
            await connection.execute("ANALYZE")
        service = RoomService(
            database.unit_of_work, PostgresEventBus(url), SystemClock(), MemoryJira()
        )
        keys = [(SITE, room) for room in rooms]
        batches = [keys[n : n + PER_READ] for n in range(0, len(keys), PER_READ)]
        await cpu_per_room(service, batches, 1.0, kept=True)  # warm-up: statements, caches
        spent: dict[str, list[float]] = {"kept": [], "made again": []}
        span = seconds / rounds
        for n in range(rounds):
            # Alternate which goes first, so neither always follows the other.
            for kind in ("kept", "made again") if n % 2 == 0 else ("made again", "kept"):
                spent[kind].append(await cpu_per_room(service, batches, span, kept=kind == "kept"))
    return spent


async def main() -> None:
    """Parse the options, run both kinds on a fresh database, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per kind, all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--history", type=int, default=5, help="finished rounds per room")
    options = parser.parse_args()
    async with scratch_database() as url:
        spent = await run(url, options.seconds, options.rounds, options.history)
    kept, again = spent["kept"], spent["made again"]
    ratios = [a / b for a, b in zip(kept, again, strict=True)]
    print(
        f"{ROOMS} rooms of 8 with {options.history} finished rounds, {PER_READ} rooms a read, "
        f"{options.seconds:g} s per kind in {options.rounds} interleaved rounds"
    )
    for name, each in spent.items():
        print(
            f"CPU per room read, configurations and decks {name + ':':11} "
            f"{statistics.median(each):6.0f} us ({min(each):.0f}-{max(each):.0f})"
        )
    listed = " ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"kept / made again: {statistics.median(ratios):.2f} (rounds: {listed})")


if __name__ == "__main__":
    asyncio.run(main())
