"""The presence leases of this process: one per participant whose socket it holds.

A person is online while any process holds one of their sockets (see
`ports/presence.py`). The live rooms tell `Seats` when such a socket shows a participant
and when the process's last socket of that person closes; `Seats` keeps the leases and
says whether another process still holds the person.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agiletoolbox.domain.room import Room
from agiletoolbox.ports.presence import PresenceBoard, Seat

log = logging.getLogger("agiletoolbox.live")

PRESENCE_RENEW_SECONDS = 30.0
"""How often a process renews its presence leases and looks for expired ones."""


class Seats:
    """The seats this process holds a lease on."""

    def __init__(self, board: PresenceBoard) -> None:
        self._board = board
        self._held: set[Seat] = set()

    def wanted(self, seat: Seat, room: Room) -> bool:
        """Whether the seat is a participant's that is not yet online with a lease held
        here (a newcomer, or someone who left and joined again: leaving drops the lease)."""
        participant = room.participants.get(seat[2])
        return participant is not None and (seat not in self._held or not participant.online)

    async def hold(self, seat: Seat, room: Room) -> bool:
        """Take (or renew) the lease of a participant's seat; False when the person is not
        a participant or the database is away (the next change tries again)."""
        if seat[2] not in room.participants:
            return False
        self._held.add(seat)
        try:
            await self._board.arrive(*seat)
        except OSError:
            self._held.discard(seat)
            return False
        return True

    async def release(self, seat: Seat) -> bool:
        """This process's last socket of the person closed; True when no other process
        holds one either (or the database is away: the lease runs out on its own)."""
        self._held.discard(seat)
        try:
            return await self._board.leave(*seat)
        except OSError:
            return True

    async def keep(self, offline: Callable[[Seat], Awaitable[object]]) -> None:
        """Forever: renew this process's leases and hand `offline` each person a dead
        process left online."""
        while True:
            await asyncio.sleep(PRESENCE_RENEW_SECONDS)
            try:
                await self._board.renew()
                for seat in await self._board.expired():
                    await offline(seat)
            except Exception as error:  # noqa: BLE001 - the next round tries again
                log.warning("could not keep presence: %s", type(error).__name__)
