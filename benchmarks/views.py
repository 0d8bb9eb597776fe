"""What showing a vote costs as a room's history grows: ours against whole views.

Run by hand: `.venv/bin/python benchmarks/views.py [--votes 3000] [--rounds 5]`.

A room of 8 voters, everyone's socket open, with 0, 5 or 20 finished rounds (revealed,
as rounds usually end). Each vote is made on a copy of the room, as a change is, and then
shown to the 8 sockets, in this one process and without sending anything:
- **ours**: what the live rooms do (`live_views.queue`): the public view rendered next to
  the one shown before, one frame for everyone whose own cards did not change, one for
  the voter;
- **whole views**: the naive way to do the same job, every socket's whole view made
  afresh and encoded (`view_json`), as a server that keeps no earlier view would.

The two take turns in `--rounds` rounds; each figure is the median CPU time per vote over
the rounds (with the spread), and the ratio of ours to whole views.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
from benchmarks.meter import per_step

from agiletoolbox.adapters.http.live_views import Shown, queue
from agiletoolbox.adapters.http.room_json import render, view_json
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.view import own_cards_of

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PEOPLE = [AccountId(f"557058:bench-{n}") for n in range(8)]
HISTORIES = (0, 5, 20)
CARDS = ("1", "2", "3", "5", "8", "13")


class Caller:
    """Who a socket is for (the part of `Caller` the rendering reads)."""

    def __init__(self, account: AccountId) -> None:
        self.account = account


class Socket:
    """A socket that takes what it is shown and sends nothing."""

    def __init__(self, account: AccountId, version: int) -> None:
        self.caller = Caller(account)
        self.version = version
        self.backlog = 0

    def show(
        self, _message: bytes, version: int, *, whole: bool, frame: bytes | None = None
    ) -> None:
        self.version = version


def room_with(history: int) -> Room:
    """A room of 8 voters, all online, with `history` finished (revealed) rounds."""
    room = Room.open(
        TenantKey("bench-site"), RoomId.generate(), IssueKey("BENCH-1"), PEOPLE[0], RoomConfig(), T0
    )
    for n, person in enumerate(PEOPLE[1:], start=1):
        room.join(person, Role.VOTER, T0 + timedelta(seconds=n))
    for person in PEOPLE:
        room.set_presence(person, True, T0 + timedelta(seconds=10))
    for r in range(history):
        at = T0 + timedelta(minutes=r + 1)
        for n, person in enumerate(PEOPLE):
            room.vote(person, CARDS[(n + r) % len(CARDS)], at)
        room.reveal(PEOPLE[0], at)
        room.reset(PEOPLE[0], at)
    room.drain_events()
    return room


def vote_on(room: Room, n: int) -> Room:
    """The room after vote `n` (each voter in turn, switching between two cards)."""
    changed = room.copy()
    person = PEOPLE[n % len(PEOPLE)]
    changed.vote(person, "3" if changed.votes.get(person) == "5" else "5", T0)
    changed.drain_events()
    return changed


def ours(history: int) -> Callable[[int], None]:
    """Votes shown as the live rooms show them."""
    room = room_with(history)
    sockets = {Socket(person, room.version) for person in PEOPLE}
    by_person = {s.caller.account: s for s in sockets}
    shown = Shown(room, render(room)[0], own_cards_of(room))

    def step(n: int) -> None:
        nonlocal shown
        changed = vote_on(shown.room, n)
        voter = by_person[PEOPLE[n % len(PEOPLE)]]
        now, _ = queue(sockets, shown, changed, (voter, n))  # type: ignore[arg-type]
        assert now is not None
        shown = now

    return step


def whole_views(history: int) -> Callable[[int], None]:
    """Votes shown as whole views, made afresh for every socket."""
    room = room_with(history)

    def step(n: int) -> None:
        nonlocal room
        room = vote_on(room, n)
        for person in PEOPLE:
            orjson.dumps({"type": "room", "room": view_json(room, person)})

    return step


def main() -> None:
    """Measure both ways for every history, in interleaved rounds, and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    kinds = {"ours": ours, "whole views": whole_views}
    taken: dict[tuple[str, int], list[float]] = {}
    for r in range(options.rounds):
        order = list(kinds) if r % 2 == 0 else list(reversed(kinds))
        for history in HISTORIES:
            for kind in order:
                figure = per_step(kinds[kind](history), options.votes, warm_up=options.votes // 10)
                taken.setdefault((kind, history), []).append(figure)
    print(f"showing one vote to 8 sockets, CPU per vote, medians (min-max) of {options.rounds}")
    print(f"{'finished rounds':>16}  {'ours, us':>22}  {'whole views, us':>22}  ratio")
    for history in HISTORIES:
        cells = []
        for kind in kinds:
            each = taken[kind, history]
            cells.append(f"{statistics.median(each):7.1f} ({min(each):.1f}-{max(each):.1f})")
        ratio = statistics.median(taken["ours", history]) / statistics.median(
            taken["whole views", history]
        )
        print(f"{history:>16}  {cells[0]:>22}  {cells[1]:>22}  {ratio:5.2f}")


if __name__ == "__main__":
    main()
