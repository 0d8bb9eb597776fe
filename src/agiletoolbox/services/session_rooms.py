"""The rooms of a refinement session: each issue gets one, opened by the session (with its
settings and owner) or taken over as it is; an async session gives every issue its room at
once, and the rooms it takes over stop revealing by themselves while it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from attrs import evolve

from agiletoolbox.domain.errors import InvalidState, NotFound
from agiletoolbox.domain.ids import IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import IssueState, RefinementSession
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports import Clock, RoomEventBus, UnitOfWork, UnitOfWorkFactory
from agiletoolbox.ports.jira import JiraClient
from agiletoolbox.services.changes import RoomChanges
from agiletoolbox.services.retry import retrying
from agiletoolbox.services.tenancy import require_tenant

JIRA_AT_ONCE = 8
"""How many issues are looked up in Jira at once when an async session opens its rooms."""


class SessionRooms:
    """Gives a session's issues their rooms, and closes the rooms it opened."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        events: RoomEventBus,
        clock: Clock,
        jira: JiraClient,
    ) -> None:
        self._uow = unit_of_work
        self._events = events
        self._clock = clock
        self._jira = jira
        self._changes = RoomChanges(unit_of_work, events, clock)

    async def require_issues(self, tenant: TenantKey, issue_keys: Sequence[IssueKey]) -> None:
        """Jira shows the app each issue that has no room yet (a few asked at once)."""
        async with self._uow() as uow:
            site = await require_tenant(uow, tenant)
            missing = [
                key for key in issue_keys if await uow.rooms.find_by_issue(tenant, key) is None
            ]
        gate = asyncio.Semaphore(JIRA_AT_ONCE)

        async def check(site: Tenant, key: IssueKey) -> None:
            async with gate:
                await self._jira.require_issue(site, key)

        await asyncio.gather(*(check(site, key) for key in missing))

    async def with_rooms(
        self, session: RefinementSession, issue_keys: Sequence[IssueKey]
    ) -> RefinementSession:
        """The session, each of the issues given a room if it has none yet (Jira was asked
        about them already)."""
        return await retrying(lambda: self._attach(session, issue_keys))

    async def with_room(self, session: RefinementSession) -> RefinementSession:
        """The session, its current issue given a room if it has none yet."""
        if session.current is None or session.item(session.current).room_id is not None:
            return session
        await self.require_issues(session.tenant, [session.current])
        return await self.with_rooms(session, [session.current])

    async def _attach(
        self, read: RefinementSession, issue_keys: Sequence[IssueKey]
    ) -> RefinementSession:
        async with self._uow() as uow:
            session = await uow.sessions.get(read.tenant, read.id)
            now = self._clock.now()
            for issue_key in issue_keys:
                if not session.holds(issue_key) or session.item(issue_key).room_id is not None:
                    continue
                room = await uow.rooms.find_by_issue(session.tenant, issue_key)
                opened = room is None
                if room is None:
                    owner = session.owner
                    if owner is None:
                        raise InvalidState("the session has no owner to open the issue's room")
                    room = Room.open(
                        session.tenant,
                        RoomId.generate(),
                        issue_key,
                        owner,
                        session.room_config(),
                        now,
                    )
                    await uow.rooms.add(room)
                elif session.estimating:
                    await hold_back(uow, room, now)
                session.room_opened(issue_key, room.id, now, opened=opened)
                progress = progress_of_room(room)
                if progress is not None:
                    session.issue_progressed(issue_key, progress, now)
            await uow.sessions.save(session)
            await uow.commit()
            events = uow.rooms.collect_events()
        await self._events.publish([*events, *session.drain_events()])
        return session

    async def close(self, tenant: TenantKey, room_id: RoomId) -> None:
        """Remove a room the session opened (unless it went on its own already)."""
        try:
            await self._changes.apply(tenant, room_id, lambda r, now: r.close(now), delete=True)
        except NotFound:
            return  # removed on its own already


async def rooms_of(uow: UnitOfWork, session: RefinementSession) -> dict[RoomId, Room]:
    """The rooms of the session's queue that exist, by id."""
    keys = [(session.tenant, e.room_id) for e in session.queue if e.room_id is not None]
    found = await uow.rooms.get_served_many(keys)
    return {room_id: room for (_, room_id), (room, _standing) in found.items()}


async def hold_back(uow: UnitOfWork, room: Room, now: datetime) -> None:
    """A room an async session takes over stops revealing by itself (by auto-reveal or a
    timer) while the session runs, as the rooms it opens do; its owner decided so by
    putting the issue in the session."""
    if room.owner is None or not (room.config.auto_reveal or room.config.reveal_on_timer):
        return
    room.configure(room.owner, evolve(room.config, auto_reveal=False, reveal_on_timer=False), now)
    await uow.rooms.save(room)


def progress_of_room(room: Room) -> IssueState | None:
    """Where a room taken over stands, as the queue counts it (None: still voting)."""
    if room.state == "voting":
        return None
    written = room.state == "estimated" and room.estimate is not None and room.estimate.written
    return IssueState.ESTIMATED if written else IssueState.REVEALED
