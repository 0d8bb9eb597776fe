"""Who holds a live socket, across every process that serves the rooms.

A person is online in a room while any process holds one of their sockets. Each process
counts its own sockets; the board tells it whether another process still holds one when
its own last socket of a person closes, and which people were left behind by a process
that died (their leases ran out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from agiletoolbox.domain.ids import AccountId, RoomId, TenantKey

Seat = tuple[TenantKey, RoomId, AccountId]
"""A person in a room."""


class PresenceBoard(Protocol):
    """The leases of this process on the people it holds sockets of."""

    async def arrive(self, tenant: TenantKey, room_id: RoomId, account: AccountId) -> None:
        """This process holds a socket of the person in the room (renews the lease)."""
        ...

    async def leave(self, tenant: TenantKey, room_id: RoomId, account: AccountId) -> bool:
        """This process holds no more sockets of the person in the room; True when no
        other process holds one either (the person is offline)."""
        ...

    async def renew(self) -> None:
        """Keep this process's leases alive."""
        ...

    async def expired(self) -> Sequence[Seat]:
        """Forget leases that ran out (their process died); the people who are left with
        no lease anywhere, to be marked offline."""
        ...
