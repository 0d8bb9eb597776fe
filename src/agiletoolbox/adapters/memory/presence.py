"""Presence with one process only: its own sockets are all there is."""

from __future__ import annotations

from collections.abc import Sequence

from agiletoolbox.domain.ids import AccountId, RoomId, TenantKey
from agiletoolbox.ports.presence import Seat


class LocalPresence:
    """`PresenceBoard` of a process that is alone: nobody else holds sockets."""

    async def arrive(self, tenant: TenantKey, room_id: RoomId, account: AccountId) -> None:
        """Nothing to record: the process counts its own sockets."""

    async def leave(self, tenant: TenantKey, room_id: RoomId, account: AccountId) -> bool:
        """No other process holds a socket of anyone."""
        return True

    async def renew(self) -> None:
        """No leases to keep."""

    async def expired(self) -> Sequence[Seat]:
        """No other process, so none died."""
        return ()
