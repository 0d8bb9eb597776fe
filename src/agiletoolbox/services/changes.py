"""How any change to a room is made: `RoomChanges`, which room use cases, account
erasure, sessions and every other writer of rooms go through, and `read_room`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from agiletoolbox.domain.errors import NotFound
from agiletoolbox.domain.ids import RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.standing import TenantStanding
from agiletoolbox.ports import Clock, RoomEventBus, UnitOfWork, UnitOfWorkFactory
from agiletoolbox.services.following import follow, progress_of
from agiletoolbox.services.retry import retrying
from agiletoolbox.services.tenancy import require_served

Action = Callable[[Room, datetime], object]
"""What a use case does to a room (a method of the aggregate, with the time)."""
Admission = Callable[[TenantStanding | None], None]
"""Whether a change may be made for a tenant in this standing (raises when not)."""


async def read_room(
    uow: UnitOfWork, tenant: TenantKey, room_id: RoomId, admit: Admission = require_served
) -> Room:
    """The room, read with its tenant's standing, once `admit` allowed that standing. A
    site that may not be served hears that before it hears of a missing room."""
    try:
        room, standing = await uow.rooms.get_served(tenant, room_id)
    except NotFound:
        admit(await uow.tenants.standing(tenant))
        raise
    admit(standing)
    return room


class RoomChanges:
    """How any change to a room is made: read it with its tenant's standing, admit the
    change, run it, save or delete guarded by the version read, commit, publish its
    events; on a lost race all of it again on fresh state. Room use cases, account erasure
    and every other writer of rooms go through here.

    A caller that holds the room as last committed (`known`, such as the live rooms of a
    process that showed it) spares the first attempt its read: the change runs on a copy of
    it, and the save's guards check what the read would have (the version, and that the
    site may be served). If either fails, the next attempt reads the room.
    """

    def __init__(self, unit_of_work: UnitOfWorkFactory, events: RoomEventBus, clock: Clock):
        self._uow = unit_of_work
        self._events = events
        self._clock = clock

    def apply(
        self,
        tenant: TenantKey,
        room_id: RoomId,
        action: Action,
        *,
        admit: Admission = require_served,
        delete: bool = False,
        known: Room | None = None,
    ) -> Awaitable[Room]:
        """The room after `action`, committed (unchanged, and not written, when the action
        changed nothing). With `delete` the room is deleted once the action allowed it.
        `known` (only with the default admission) is the room as the caller last saw it
        committed. (The retries' awaitable is handed over, not awaited in a frame of its
        own, which every resume of the change would pass through.)"""
        attempts = iter((known,))

        def attempt() -> Awaitable[Room]:
            return self._attempt(tenant, room_id, action, admit, delete, next(attempts, None))

        return retrying(attempt)

    async def _attempt(
        self,
        tenant: TenantKey,
        room_id: RoomId,
        action: Action,
        admit: Admission,
        delete: bool,
        known: Room | None,
    ) -> Room:
        async with self._uow() as uow:
            if known is not None and known.id == room_id and known.tenant == tenant:
                room = known.copy()
                await uow.rooms.adopt(room)
            else:
                room = await read_room(uow, tenant, room_id, admit)
            before = room.version
            now = self._clock.now()
            action(room, now)
            if room.version == before:
                return room
            progress = None if delete else progress_of(room.pending_events)
            if delete:
                await uow.rooms.delete(tenant, room_id)
            else:
                await uow.rooms.save(room)
            followed = [] if progress is None else await follow(uow, room, progress, now)
            await uow.commit()
            events = room.drain_events() if delete else uow.rooms.collect_events()
        await self._events.publish([*events, *followed])
        return room
