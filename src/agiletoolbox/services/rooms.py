"""Room use cases: open, join, vote, reveal, reset, take control, configure, estimate, remove."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol, TypeVar

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
from agiletoolbox.domain.errors import ConcurrentChange, InvalidState, NotFound
from agiletoolbox.domain.ids import AccountId, IssueKey, IssueTypeId, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.view import RoomView, view_of, views_of
from agiletoolbox.ports import Clock, JiraClient, RoomEventBus, UnitOfWork, UnitOfWorkFactory
from agiletoolbox.services.tenancy import require_access, require_tenant

T = TypeVar("T")

# Two people acting on one room at the same instant is common (everyone votes at once).
# Within a process a room's changes take turns, so only another process can win a race;
# a handful of retries on fresh state resolves that without surfacing a conflict.
MAX_ATTEMPTS = 8


async def _served_room(uow: UnitOfWork, tenant: TenantKey, room_id: RoomId) -> Room:
    """The room, when the site may be served now.

    The room is read first: a store may bring the tenant's standing along with it, which
    spares the check a read of its own. A site that may not be served hears that before
    it hears of a missing room.
    """
    try:
        room = await uow.rooms.get(tenant, room_id)
    except NotFound:
        await require_access(uow, tenant)
        raise
    await require_access(uow, tenant)
    return room


class ChangeObserver(Protocol):
    """What this process's live sockets need to hear of the changes made here."""

    def committed(self, room: Room) -> None:
        """A change to `room` was committed by this process (called before its signal is
        published, so the sockets held here need not read the room back)."""

    def settled(self, tenant: TenantKey, room_id: RoomId) -> None:
        """No use case of this process is writing the room any more (whether the last
        one committed, changed nothing or failed)."""


class _Turn:
    """A room's changes in this process, taking turns: kept while any is under way."""

    __slots__ = ("lock", "writers")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.writers = 0


class RoomService:
    """Every action a person takes in a room."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        events: RoomEventBus,
        clock: Clock,
        jira: JiraClient,
    ) -> None:
        self._uow = unit_of_work
        self._events = events
        self._observers: list[ChangeObserver] = []
        self._turns: dict[tuple[TenantKey, RoomId], _Turn] = {}
        self._clock = clock
        self._jira = jira

    # -- reading ---------------------------------------------------------------------------

    async def view_by_issue(
        self, tenant: TenantKey, viewer: AccountId, issue_key: IssueKey
    ) -> RoomView:
        """The viewer's view of the room of an issue; `NotFound` when none was opened."""
        async with self._uow() as uow:
            room = await uow.rooms.find_by_issue(tenant, issue_key)
            await require_access(uow, tenant)
        if room is None:
            raise NotFound(f"{issue_key} has no room yet")
        return view_of(room, viewer)

    def observe(self, observer: ChangeObserver) -> Callable[[], None]:
        """Tell `observer` of every room this process changes, once committed, and when
        its writes settle; returns the function that stops it. Other processes learn of
        changes from the event bus."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def writing(self, tenant: TenantKey, room_id: RoomId) -> bool:
        """Whether a use case of this process is changing the room right now.

        A room's signal may arrive while the change it announces is still on its way back
        to the use case that made it; an observer can wait for `settled` instead of
        reading the room at once.
        """
        return (tenant, room_id) in self._turns

    async def view(self, tenant: TenantKey, viewer: AccountId, room_id: RoomId) -> RoomView:
        """The viewer's view of a room."""
        async with self._uow() as uow:
            room = await _served_room(uow, tenant, room_id)
        return view_of(room, viewer)

    async def views(
        self, tenant: TenantKey, room_id: RoomId, viewers: Iterable[AccountId]
    ) -> dict[AccountId, RoomView]:
        """One read of the room, one masked view per viewer (for live sockets)."""
        async with self._uow() as uow:
            room = await _served_room(uow, tenant, room_id)
        return views_of(room, viewers)

    async def saved_defaults(
        self, tenant: TenantKey, account: AccountId, issue_key: IssueKey, issue_type: IssueTypeId
    ) -> RoomConfig | None:
        """The configuration the person saved for this project and issue type, if any."""
        key = DefaultsKey(tenant, account, issue_key.project, issue_type)
        async with self._uow() as uow:
            await require_access(uow, tenant)
            saved = await uow.defaults.get(key)
        return saved.config if saved else None

    # -- changing --------------------------------------------------------------------------

    async def open(
        self,
        tenant: TenantKey,
        owner: AccountId,
        issue_key: IssueKey,
        config: RoomConfig,
        save_default_for: IssueTypeId | None = None,
    ) -> RoomView:
        """Open the issue's room with the caller as owner; `InvalidState` if it exists."""
        now = self._clock.now()
        async with self._uow() as uow:
            await require_access(uow, tenant)
            room = Room.open(tenant, RoomId.generate(), issue_key, owner, config, now)
            await uow.rooms.add(room)
            if save_default_for is not None:
                key = DefaultsKey(tenant, owner, issue_key.project, save_default_for)
                await uow.defaults.save(SavedDefaults(key, config, now))
            try:
                await uow.commit()
            except ConcurrentChange:
                raise InvalidState(f"{issue_key} already has a room") from None
            await self._events.publish(uow.rooms.collect_events())
        return view_of(room, owner)

    async def join(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, role: Role
    ) -> RoomView:
        """Join as voter or observer (or switch role)."""
        return await self._change(tenant, actor, room_id, lambda r, now: r.join(actor, role, now))

    async def leave(self, tenant: TenantKey, actor: AccountId, room_id: RoomId) -> RoomView:
        """Leave the room."""
        return await self._change(tenant, actor, room_id, lambda r, now: r.leave(actor, now))

    async def set_presence(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, online: bool
    ) -> RoomView:
        """Mark the person online (a socket opened) or offline (their last socket closed)."""
        return await self._change(
            tenant, actor, room_id, lambda r, now: r.set_presence(actor, online, now)
        )

    async def vote(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, card: str
    ) -> RoomView:
        """Pick a card (picking it again withdraws it)."""
        return await self._change(tenant, actor, room_id, lambda r, now: r.vote(actor, card, now))

    async def withdraw(self, tenant: TenantKey, actor: AccountId, room_id: RoomId) -> RoomView:
        """Withdraw the caller's vote."""
        return await self._change(tenant, actor, room_id, lambda r, now: r.withdraw(actor, now))

    async def reveal(self, tenant: TenantKey, actor: AccountId, room_id: RoomId) -> RoomView:
        """Reveal the votes."""
        return await self._change(tenant, actor, room_id, lambda r, now: r.reveal(actor, now))

    async def reset(self, tenant: TenantKey, actor: AccountId, room_id: RoomId) -> RoomView:
        """Start a new round."""
        return await self._change(tenant, actor, room_id, lambda r, now: r.reset(actor, now))

    async def take_control(self, tenant: TenantKey, actor: AccountId, room_id: RoomId) -> RoomView:
        """Become the owner while the owner is away."""
        return await self._change(tenant, actor, room_id, lambda r, now: r.take_control(actor, now))

    async def configure(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        update: Callable[[RoomConfig], RoomConfig],
    ) -> RoomView:
        """Change the room's configuration to `update(current configuration)`.

        The update runs on the state it changes, so concurrent edits never undo each other.
        """
        return await self._change(
            tenant, actor, room_id, lambda r, now: r.configure(actor, update(r.config), now)
        )

    async def accept_estimate(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, value: str
    ) -> RoomView:
        """Accept the estimate, write it to the room's Jira field, and confirm it landed.

        The Jira calls happen outside any transaction. When the write fails the estimate
        stays accepted and unwritten, and the error tells the owner what to do; accepting
        again retries the write. A retry after a failure between Jira's answer and our
        commit finds the same estimate accepted already: Jira is asked first, so a write
        that landed is not made twice.
        """
        async with self._uow() as uow:
            tenant_row = await require_tenant(uow, tenant)
            room = await uow.rooms.get(tenant, room_id)
        if room.config.field_id is None:
            raise InvalidState("choose the Jira field for estimates first")
        target = await self._jira.field_spec(tenant_row, room.issue_key, room.config.field_id)
        earlier = room.estimate
        accepted = await self._apply(
            tenant, room_id, lambda r, now: r.accept_estimate(actor, value, target, now)
        )
        retried = earlier is not None and (earlier.value, earlier.field_id, earlier.round) == (
            accepted.value,
            accepted.field_id,
            accepted.round,
        )
        if not (
            retried
            and await self._jira.holds_estimate(tenant_row, room.issue_key, target, accepted.value)
        ):
            await self._jira.write_estimate(tenant_row, room.issue_key, target, accepted.value)
        return await self._change(
            tenant, actor, room_id, lambda r, now: r.mark_estimate_written(accepted, now)
        )

    async def remove(self, tenant: TenantKey, actor: AccountId, room_id: RoomId) -> None:
        """Remove the room and everything in it."""
        await self._apply(tenant, room_id, lambda r, now: r.remove(actor, now), delete=True)

    # -- internals -------------------------------------------------------------------------

    async def _change(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        action: Callable[[Room, datetime], object],
    ) -> RoomView:
        def act(room: Room, now: datetime) -> Room:
            action(room, now)
            return room

        return view_of(await self._apply(tenant, room_id, act), actor)

    async def _apply(
        self,
        tenant: TenantKey,
        room_id: RoomId,
        action: Callable[[Room, datetime], T],
        *,
        delete: bool = False,
    ) -> T:
        """Run `action` on fresh state in one unit of work, retrying lost races.

        The room's changes made by this process take turns, first come first served:
        racing each other would only waste reads and writes on changes bound to be
        retried, and could outlast the retries when many people act at once.
        With `delete`, the room is deleted instead of saved once the action allowed it.
        """
        key = (tenant, room_id)
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.writers += 1
        try:
            async with turn.lock:
                return await self._attempt(tenant, room_id, action, delete=delete)
        finally:
            turn.writers -= 1
            if not turn.writers:
                del self._turns[key]
                for observer in list(self._observers):
                    observer.settled(tenant, room_id)

    async def _attempt(
        self,
        tenant: TenantKey,
        room_id: RoomId,
        action: Callable[[Room, datetime], T],
        *,
        delete: bool,
    ) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            async with self._uow() as uow:
                room = await _served_room(uow, tenant, room_id)
                before = room.version
                result = action(room, self._clock.now())
                if room.version == before:
                    return result
                if delete:
                    await uow.rooms.delete(tenant, room_id)
                else:
                    await uow.rooms.save(room)
                try:
                    await uow.commit()
                except ConcurrentChange:
                    if attempt == MAX_ATTEMPTS:
                        raise
                    continue
                events = room.drain_events() if delete else uow.rooms.collect_events()
            # Outside the unit of work, whose exit may yield: what a caller does with the
            # result (answer a socket's command) comes before what the sockets are sent.
            # The sockets held here hear of the change first, from the room itself; the
            # signal then finds them up to date.
            if not delete:
                for observer in list(self._observers):
                    observer.committed(room)
            await self._events.publish(events)
            return result
        raise AssertionError("unreachable")  # pragma: no cover
