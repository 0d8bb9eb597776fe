"""Memos benchmark: what each memo on a vote's path saves, in this process alone.

Run by hand: `.venv/bin/python benchmarks/memos.py [--operations 100000] [--rounds 5]`.
No database: each memo is measured where it works, with it ("memoised") and without it
("made again": the module's function without its cache), in `--rounds` interleaved
rounds; medians, with each round's ratio.

- **Hearing a notification.** Every process hears every room change of the deployment,
  its own included, parses it (`listener.parse_signal`: JSON, then the tenant key and the
  room id, each checked as ids are) and looks the room up among those it holds sockets of
  (keyed by tenant and room, as `LiveRooms` keys them, from other objects, as a socket's
  are). The listener memoises the ids of the rooms it hears of (`listener._room_key`), so
  a room changing again brings the same objects, their hashes already worked out. 100
  rooms change among 1,000 held.
- **Making a room write's statement.** Every write of a room runs the statement of its
  shape (`room_sql.save_statement`: the columns that changed, the parts that have work),
  which asyncpg finds in its cache of prepared statements by the text. The texts are
  memoised per shape, so the same text object comes back, its hash already worked out.
  The shapes are those of a vote, a withdrawal and a presence change.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
from benchmarks.meter import per_step

from agiletoolbox.adapters.postgres import listener, rooms
from agiletoolbox.domain.ids import RoomId, TenantKey
from agiletoolbox.ports.events import RoomChange

HELD = 1_000
CHANGING = 100
TENANT = "jira:6f1c2a9e-2b47-4d1a-9a0e-1d2f3c4b5a69"
ROOM_KEYS = (listener._room_key, listener._room_key.__wrapped__)
STATEMENTS = (rooms.save_statement, rooms.save_statement.__wrapped__)
SHAPES = (
    {"columns": ("version", "updated_at"), "parts": ("put_votes",), "served": True},
    {"columns": ("version", "updated_at"), "parts": ("gone_votes",), "served": True},
    {"columns": ("version", "updated_at"), "parts": ("put_participants",), "served": True},
)

Step = Callable[[int], None]


def hearing(memoised: bool) -> Step:
    """A step that hears notification `n` and finds its room."""
    rooms_held = [RoomId.generate().value for _ in range(HELD)]
    held = {(TenantKey(TENANT), RoomId(room)): n for n, room in enumerate(rooms_held)}
    payloads = [
        orjson.dumps({"t": TENANT, "r": room, "v": n + 2}).decode()
        for n, room in enumerate(rooms_held[:CHANGING])
    ]
    listener._room_key = ROOM_KEYS[0] if memoised else ROOM_KEYS[1]

    def step(n: int) -> None:
        signal = listener.parse_signal(payloads[n % CHANGING])
        if not isinstance(signal, RoomChange) or (signal.tenant, signal.room_id) not in held:
            raise TypeError(f"not a room change of a room held: {signal!r}")

    return step


def writing(memoised: bool) -> Step:
    """A step that makes write `n`'s statement and finds it among the prepared ones."""
    rooms.save_statement = STATEMENTS[0] if memoised else STATEMENTS[1]
    prepared = {rooms.save_statement(**shape): n for n, shape in enumerate(SHAPES)}

    def step(n: int) -> None:
        if prepared[rooms.save_statement(**SHAPES[n % len(SHAPES)])] != n % len(SHAPES):
            raise LookupError("another statement")

    return step


MEMOS: dict[str, tuple[str, Callable[[bool], Step]]] = {
    "notification": ("hearing a notification, room ids", hearing),
    "statement": ("making a room write's statement, texts", writing),
}


def main() -> None:
    """Measure every memo both ways in interleaved rounds; print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    spent: dict[tuple[str, bool], list[float]] = {}
    for n in range(options.rounds):
        for name, (_what, make) in MEMOS.items():
            for memoised in (True, False) if n % 2 == 0 else (False, True):
                figure = per_step(make(memoised), options.operations, warm_up=CHANGING)
                spent.setdefault((name, memoised), []).append(figure)
    listener._room_key, rooms.save_statement = ROOM_KEYS[0], STATEMENTS[0]
    print(
        f"{options.operations} operations per memo and kind in each of {options.rounds} "
        "interleaved rounds; CPU per operation, medians (min-max)"
    )
    for name, (what, _make) in MEMOS.items():
        cells = []
        for memoised in (True, False):
            each = spent[name, memoised]
            kind = "memoised" if memoised else "made again"
            cells.append(
                f"{kind} {statistics.median(each):.2f} us ({min(each):.2f}-{max(each):.2f})"
            )
        ratios = [a / b for a, b in zip(spent[name, True], spent[name, False], strict=True)]
        listed = " ".join(f"{ratio:.2f}" for ratio in ratios)
        print(f"{what}: {', '.join(cells)}; ratio {statistics.median(ratios):.2f} ({listed})")


if __name__ == "__main__":
    main()
