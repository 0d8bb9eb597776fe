"""Room use cases: open, join, vote, reveal, reset, take control, configure, estimate, remove.

Each use case runs in one unit of work and returns the room as it committed it; the
caller (an adapter) decides what to do with it, such as showing it to the sockets it holds.
The use cases keep no state between calls: any process may serve any request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from attrs import frozen

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
from agiletoolbox.domain.errors import (
    AccessRefused,
    ConcurrentChange,
    DomainError,
    InvalidState,
    NotFound,
)
from agiletoolbox.domain.ids import AccountId, IssueKey, IssueTypeId, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.ports import (
    Clock,
    JiraClient,
    RoomEventBus,
    UnitOfWork,
    UnitOfWorkFactory,
    UserToken,
)
from agiletoolbox.services.changes import Action, RoomChanges, read_room
from agiletoolbox.services.estimates import EstimateWriter
from agiletoolbox.services.tenancy import require_access, require_served, require_tenant

Known = Room | None
"""The room as a caller last saw it committed, if it holds one (see `RoomChanges`)."""


@frozen
class SiteBounds:
    """How much one site may keep: rooms and saved defaults (settings
    `AGILETOOLBOX_LIMIT_ROOMS_PER_SITE`, `AGILETOOLBOX_LIMIT_DEFAULTS_PER_SITE`)."""

    rooms: int = 100_000
    defaults: int = 20_000


async def save_defaults(
    uow: UnitOfWork, bounds: SiteBounds, key: DefaultsKey, config: RoomConfig, now: datetime
) -> None:
    """Keep `config` as the person's default for a project and issue type, within the
    site's bound on saved defaults."""
    if (
        await uow.defaults.get(key) is None
        and await uow.defaults.count(key.tenant) >= bounds.defaults
    ):
        raise InvalidState(
            f"this site keeps {bounds.defaults} saved defaults, the most it may; "
            "go on without saving them"
        )
    await uow.defaults.save(SavedDefaults(key, config, now))


class RoomService:
    """Every action a person takes in a room."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        events: RoomEventBus,
        clock: Clock,
        jira: JiraClient,
        bounds: SiteBounds | None = None,
    ) -> None:
        self._bounds = bounds or SiteBounds()
        self._uow = unit_of_work
        self._events = events
        self._changes = RoomChanges(unit_of_work, events, clock)
        self._clock = clock
        self._jira = jira
        self._estimates = EstimateWriter(unit_of_work, self._changes, jira)

    # -- reading ---------------------------------------------------------------------------

    async def find(self, tenant: TenantKey, issue_key: IssueKey) -> Room:
        """The room of an issue; `NotFound` when none was opened."""
        async with self._uow() as uow:
            room = await uow.rooms.find_by_issue(tenant, issue_key)
            await require_access(uow, tenant)
        if room is None:
            raise NotFound(f"{issue_key} has no room yet")
        return room

    async def get(self, tenant: TenantKey, room_id: RoomId) -> Room:
        """The room, when its site may be served."""
        async with self._uow() as uow:
            return await read_room(uow, tenant, room_id)

    async def get_many(
        self, keys: Sequence[tuple[TenantKey, RoomId]]
    ) -> dict[tuple[TenantKey, RoomId], Room | DomainError]:
        """Several rooms in one read: each key's room when its site may be served, else
        the error reading it alone would raise (`AccessRefused`, `NotFound`)."""
        read: dict[tuple[TenantKey, RoomId], Room | DomainError] = {}
        async with self._uow() as uow:
            found = await uow.rooms.get_served_many(keys)
            for key in keys:
                room, standing = found.get(key, (None, None))
                try:
                    require_served(
                        standing if room is not None else await uow.tenants.standing(key[0])
                    )
                except AccessRefused as refused:
                    read[key] = refused
                    continue
                read[key] = room if room is not None else NotFound("no such room")
        return read

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

    def _apply(
        self, tenant: TenantKey, room_id: RoomId, action: Action, known: Known
    ) -> Awaitable[Room]:
        # Not a coroutine of its own: one frame less in every change's chain of awaits.
        return self._changes.apply(tenant, room_id, action, known=known)

    async def open(
        self,
        tenant: TenantKey,
        owner: AccountId,
        issue_key: IssueKey,
        config: RoomConfig,
        save_default_for: IssueTypeId | None = None,
    ) -> Room:
        """Open the issue's room with the caller as owner; `InvalidState` if it exists,
        `JiraIssueNotFound` unless Jira shows the app the issue (asked before anything is
        stored: a token naming an issue that does not exist opens nothing)."""
        async with self._uow() as uow:
            site = await require_tenant(uow, tenant)
        await self._jira.require_issue(site, issue_key)
        now = self._clock.now()
        async with self._uow() as uow:
            await require_access(uow, tenant)
            if await uow.rooms.count(tenant) >= self._bounds.rooms:
                raise InvalidState(
                    f"this site keeps {self._bounds.rooms} rooms, the most it may; "
                    "remove rooms nobody uses"
                )
            room = Room.open(tenant, RoomId.generate(), issue_key, owner, config, now)
            await uow.rooms.add(room)
            if save_default_for is not None:
                key = DefaultsKey(tenant, owner, issue_key.project, save_default_for)
                await save_defaults(uow, self._bounds, key, config, now)
            try:
                await uow.commit()
            except ConcurrentChange:
                raise InvalidState(f"{issue_key} already has a room") from None
            await self._events.publish(uow.rooms.collect_events())
        return room

    # Each change takes `known`: the room as the caller last saw it committed, if it holds
    # one (see `RoomChanges`).

    async def join(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, role: Role, known: Known = None
    ) -> Room:
        """Join as voter or observer (or switch role)."""
        return await self._apply(tenant, room_id, lambda r, now: r.join(actor, role, now), known)

    async def leave(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, known: Known = None
    ) -> Room:
        """Leave the room."""
        return await self._apply(tenant, room_id, lambda r, now: r.leave(actor, now), known)

    async def set_presence(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        online: bool,
        known: Known = None,
    ) -> Room:
        """Mark the person online (a socket opened) or offline (their last socket closed)."""
        return await self._apply(
            tenant, room_id, lambda r, now: r.set_presence(actor, online, now), known
        )

    async def vote(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, card: str, known: Known = None
    ) -> Room:
        """Hold a card (holding it already changes nothing)."""
        return await self._apply(tenant, room_id, lambda r, now: r.vote(actor, card, now), known)

    async def withdraw(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, known: Known = None
    ) -> Room:
        """Withdraw the caller's vote."""
        return await self._apply(tenant, room_id, lambda r, now: r.withdraw(actor, now), known)

    async def reveal(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        known: Known = None,
        *,
        round_: int | None = None,
    ) -> Room:
        """Reveal the votes (of round `round_`: a no-op once it is revealed or over)."""
        return await self._apply(
            tenant, room_id, lambda r, now: r.reveal(actor, now, round_), known
        )

    async def reset(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        known: Known = None,
        *,
        round_: int | None = None,
    ) -> Room:
        """Start a new round (ending round `round_`: a no-op once it is over)."""
        return await self._apply(tenant, room_id, lambda r, now: r.reset(actor, now, round_), known)

    async def start_timer(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        seconds: int,
        known: Known = None,
    ) -> Room:
        """Start the open round's timer."""
        return await self._apply(
            tenant, room_id, lambda r, now: r.start_timer(actor, seconds, now), known
        )

    async def extend_timer(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        seconds: int,
        known: Known = None,
    ) -> Room:
        """Give the running timer more time."""
        return await self._apply(
            tenant, room_id, lambda r, now: r.extend_timer(actor, seconds, now), known
        )

    async def stop_timer(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, known: Known = None
    ) -> Room:
        """Stop the timer."""
        return await self._apply(tenant, room_id, lambda r, now: r.stop_timer(actor, now), known)

    async def time_up(
        self, tenant: TenantKey, room_id: RoomId, round_: int, known: Known = None
    ) -> Room:
        """Round `round_`'s timer ran out: reveal when the room wants it (a no-op when the
        timer is not due, already handled by another process, or stopped)."""
        return await self._apply(tenant, room_id, lambda r, now: r.time_up(round_, now), known)

    async def take_control(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, known: Known = None
    ) -> Room:
        """Become the owner while the owner is away."""
        return await self._apply(tenant, room_id, lambda r, now: r.take_control(actor, now), known)

    async def configure(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        update: Callable[[RoomConfig], RoomConfig],
        known: Known = None,
    ) -> Room:
        """Change the room's configuration to `update(current configuration)`.

        The update runs on the state it changes, so concurrent edits never undo each other.
        """
        return await self._apply(
            tenant, room_id, lambda r, now: r.configure(actor, update(r.config), now), known
        )

    async def accept_estimate(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        value: str,
        user_token: UserToken | None = None,
    ) -> Room:
        """Accept the estimate, write it to the room's Jira field, confirm it landed, and
        comment on it when the room asks for that (`estimates.py`)."""
        return await self._estimates.accept(tenant, actor, room_id, value, user_token)

    async def remove(
        self, tenant: TenantKey, actor: AccountId, room_id: RoomId, known: Known = None
    ) -> Room:
        """Remove the room and everything in it; returns it as it was, marked removed."""
        return await self._changes.apply(
            tenant, room_id, lambda r, now: r.remove(actor, now), delete=True, known=known
        )
