"""The round timers of the rooms a process shows: each one's end, called when it is due.

The deadline is the server's (`Room.timer`); every process that shows the room keeps a
call at that moment. The call runs `time_up` for the round, as a room change: the first
process to run it reveals (when the room wants it) and ends the timer, the others find
nothing to do. A call a moment early finds the timer not due; the room is shown again
after it, and the call is scheduled anew.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from agiletoolbox.domain.ids import RoomId, TenantKey
from agiletoolbox.domain.room import Room, RoundTimer

RoomKey = tuple[TenantKey, RoomId]

SLACK_SECONDS = 0.05
"""How long after a timer's deadline its call runs (clocks tick in steps)."""


class RoundTimers:
    """One pending call per timed room shown here; `due(key, round)` runs at its end."""

    def __init__(self, due: Callable[[RoomKey, int], None]) -> None:
        self._due = due
        self._calls: dict[RoomKey, tuple[RoundTimer, asyncio.TimerHandle]] = {}

    def watch(self, room: Room, *, shown: bool) -> None:
        """Keep the call of `room`'s timer (or none) in step with the room; `shown` says
        whether this process holds sockets of the room."""
        timer = None if room.revealed or not shown else room.timer
        if timer is None and not self._calls:
            return  # no call to keep, none to drop (the usual case: no timer anywhere)
        key = (room.tenant, room.id)
        current = self._calls.get(key)
        if current is None and timer is None:
            return
        if current is not None and current[0] == timer:
            return
        self.forget(key)
        if timer is None:
            return
        delay = (timer.ends_at - datetime.now(UTC)).total_seconds() + SLACK_SECONDS
        handle = asyncio.get_running_loop().call_later(max(0.0, delay), self._run, key, timer)
        self._calls[key] = (timer, handle)

    def forget(self, key: RoomKey) -> None:
        """Drop the room's call (its last socket here closed, or its timer changed)."""
        current = self._calls.pop(key, None)
        if current is not None:
            current[1].cancel()

    def close(self) -> None:
        """Drop every call."""
        for key in list(self._calls):
            self.forget(key)

    def _run(self, key: RoomKey, timer: RoundTimer) -> None:
        self._calls.pop(key, None)
        self._due(key, timer.round)
