"""Room and session signals within one process."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agiletoolbox.domain.events import RoomEvent
from agiletoolbox.ports.events import (
    Published,
    ResyncAll,
    RoomChange,
    RoomSignal,
    SessionChange,
)


class MemoryEventBus:
    """Delivers a `RoomChange` or `SessionChange` per published event to every subscriber,
    synchronously."""

    def __init__(self) -> None:
        self._handlers: list[Callable[[RoomSignal], None]] = []
        self.published: list[RoomEvent] = []

    async def publish(self, events: Sequence[Published]) -> None:
        """Deliver the signals of committed events."""
        for event in events:
            if isinstance(event, RoomEvent):
                self.published.append(event)
                self._deliver(RoomChange(event.tenant, event.room_id, event.version))
            else:
                self._deliver(SessionChange(event.tenant, event.session_id, event.version))

    def subscribe(self, handler: Callable[[RoomSignal], None]) -> Callable[[], None]:
        """Register `handler`; the returned function unregisters it."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def resync(self) -> None:
        """Tell every subscriber to re-read what it holds (as after a reconnect)."""
        self._deliver(ResyncAll())

    def _deliver(self, signal: RoomSignal) -> None:
        for handler in list(self._handlers):
            handler(signal)
