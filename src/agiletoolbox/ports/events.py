"""The room event bus: how every process learns that a room changed.

A signal carries ids and a version only, never personal data. After a subscriber may have
missed signals (a listener reconnect), it gets `ResyncAll` and re-reads the rooms it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from attrs import frozen

from agiletoolbox.domain.events import RoomEvent
from agiletoolbox.domain.ids import RoomId, TenantKey


@frozen
class RoomChange:
    """A room reached `version`."""

    tenant: TenantKey
    room_id: RoomId
    version: int


@frozen
class ResyncAll:
    """Signals may have been missed: re-read every room you hold."""


RoomSignal = RoomChange | ResyncAll


class RoomEventBus(Protocol):
    """Publishes room events after commit and delivers signals to subscribers."""

    async def publish(self, events: Sequence[RoomEvent]) -> None:
        """Make committed events known (a no-op where the store notifies in its transaction)."""
        ...

    def subscribe(self, handler: Callable[[RoomSignal], None]) -> Callable[[], None]:
        """Call `handler` for every signal; returns the function that unsubscribes."""
        ...
