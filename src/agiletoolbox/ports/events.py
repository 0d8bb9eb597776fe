"""The event bus: how every process learns that a room or a refinement session changed.

A signal carries ids and a version only, never personal data. After a subscriber may have
missed signals (a listener reconnect), it gets `ResyncAll` and re-reads what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from attrs import frozen

from agiletoolbox.domain.events import RoomEvent
from agiletoolbox.domain.ids import RoomId, SessionId, TenantKey
from agiletoolbox.domain.session import SessionChanged


@frozen
class RoomChange:
    """A room reached `version`."""

    tenant: TenantKey
    room_id: RoomId
    version: int


@frozen
class SessionChange:
    """A refinement session reached `version` (its queue, its current issue, its state)."""

    tenant: TenantKey
    session_id: SessionId
    version: int


@frozen
class ResyncAll:
    """Signals may have been missed: re-read every room and session you hold."""


RoomSignal = RoomChange | SessionChange | ResyncAll
"""What the bus delivers (rooms and sessions share one channel)."""
Published = RoomEvent | SessionChanged
"""What a writer publishes after commit."""


class RoomEventBus(Protocol):
    """Publishes room and session events after commit and delivers signals to subscribers."""

    async def publish(self, events: Sequence[Published]) -> None:
        """Make committed events known (a no-op where the store notifies in its transaction)."""
        ...

    def subscribe(self, handler: Callable[[RoomSignal], None]) -> Callable[[], None]:
        """Call `handler` for every signal; returns the function that unsubscribes."""
        ...
