"""Signals benchmark: what memoising a room's ids saves each notification a process hears.

Run by hand: `.venv/bin/python benchmarks/signals.py [--notifications 100000] [--rounds 5]`.
No database: it measures this process alone.

Every process hears every room change of the deployment, its own included, and for each
one parses the payload (`listener.parse_signal`: JSON, then the tenant key and the room
id, each checked as ids are) and looks the room up among those it holds sockets of (a
dict keyed by tenant and room, as `LiveRooms` keeps them, keys made from other objects,
as a socket's are). The listener memoises the ids of the rooms it hears of
(`listener._room_key`), so the ids of a room changing again are the same objects, their
hashes already worked out. This measures the CPU per notification with that memo
("memoised") and without it ("made again"), 100 rooms changing among 1,000 held, in
`--rounds` interleaved rounds; medians, with each round's ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from agiletoolbox.adapters.postgres import listener
from agiletoolbox.domain.ids import RoomId, TenantKey
from agiletoolbox.ports.events import RoomChange

HELD = 1_000
CHANGING = 100
TENANT = "jira:6f1c2a9e-2b47-4d1a-9a0e-1d2f3c4b5a69"
MEMOISED = listener._room_key
MADE_AGAIN = listener._room_key.__wrapped__


def hearing(memoised: bool) -> Callable[[int], int]:
    """A step that hears notification `n` and finds its room; the rooms found so far."""
    rooms = [RoomId.generate().value for _ in range(HELD)]
    held = {(TenantKey(TENANT), RoomId(room)): n for n, room in enumerate(rooms)}
    payloads = [
        orjson.dumps({"t": TENANT, "r": room, "v": n + 2}).decode()
        for n, room in enumerate(rooms[:CHANGING])
    ]
    listener._room_key = MEMOISED if memoised else MADE_AGAIN
    found = 0

    def step(n: int) -> int:
        nonlocal found
        signal = listener.parse_signal(payloads[n % CHANGING])
        if not isinstance(signal, RoomChange):
            raise TypeError(f"not a room change: {signal!r}")
        found += (signal.tenant, signal.room_id) in held
        return found

    return step


def per_notification(memoised: bool, notifications: int) -> float:
    """CPU microseconds per notification (after a warm-up of every changing room)."""
    step = hearing(memoised)
    for n in range(CHANGING):
        step(n)
    started = time.process_time()
    for n in range(notifications):
        found = step(n)
    spent = time.process_time() - started
    if found != notifications + CHANGING:
        raise RuntimeError(f"found {found} rooms of {notifications + CHANGING}")
    return 1e6 * spent / notifications


def main() -> None:
    """Measure both ways in interleaved rounds and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    spent: dict[str, list[float]] = {"memoised": [], "made again": []}
    for n in range(options.rounds):
        for kind in ("memoised", "made again") if n % 2 == 0 else ("made again", "memoised"):
            spent[kind].append(per_notification(kind == "memoised", options.notifications))
    listener._room_key = MEMOISED
    print(
        f"{CHANGING} rooms changing among {HELD} held, {options.notifications} notifications "
        f"per kind in each of {options.rounds} interleaved rounds"
    )
    for kind, each in spent.items():
        print(
            f"CPU per notification, room ids {kind + ':':11} "
            f"{statistics.median(each):5.2f} us ({min(each):.2f}-{max(each):.2f})"
        )
    ratios = [a / b for a, b in zip(spent["memoised"], spent["made again"], strict=True)]
    listed = " ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"memoised / made again: {statistics.median(ratios):.2f} (rounds: {listed})")


if __name__ == "__main__":
    main()
