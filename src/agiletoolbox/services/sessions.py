"""Refinement sessions: open one, go through its queue, remove it.

Every committed change is published on the event bus (`SessionChange`), which is how every
process's live session pages hear of it. A room's progress reaches its sessions through
`RoomChanges` (services/rooms.py), in the room change's own transaction.

A session drives one room per issue: when an issue becomes current, the session opens its
room (with the session's configuration and owner) or, when the issue has a room of its own
already, takes that room over as it is. Removing the session removes the rooms it opened
and leaves the ones it took over. Every change is read, applied, saved against the version
read and committed, again on fresh state after a lost race (`retrying`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.defaults import DefaultsKey
from agiletoolbox.domain.errors import InvalidState, NotFound
from agiletoolbox.domain.ids import (
    AccountId,
    IssueKey,
    IssueTypeId,
    ProjectKey,
    RoomId,
    SessionId,
    TenantKey,
)
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import RefinementSession, SessionMode
from agiletoolbox.ports import Clock, RoomEventBus, UnitOfWorkFactory
from agiletoolbox.ports.jira import JiraClient
from agiletoolbox.services.retry import retrying
from agiletoolbox.services.rooms import RoomChanges, SiteBounds, save_defaults
from agiletoolbox.services.tenancy import require_access, require_tenant

T = TypeVar("T")

MAX_SESSIONS_PER_PROJECT = 1_000
"""The most sessions a project keeps (finished ones count until retention removes them)."""


class SessionService:
    """The use cases of refinement sessions."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        events: RoomEventBus,
        clock: Clock,
        jira: JiraClient,
        bounds: SiteBounds | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._events = events
        self._clock = clock
        self._jira = jira
        self._bounds = bounds or SiteBounds()
        self._rooms = RoomChanges(unit_of_work, events, clock)

    # -- reading -----------------------------------------------------------------------

    async def get(self, tenant: TenantKey, session_id: SessionId) -> RefinementSession:
        """The session, if the site may be served."""
        async with self._uow() as uow:
            await require_access(uow, tenant)
            return await uow.sessions.get(tenant, session_id)

    async def for_project(
        self, tenant: TenantKey, project: ProjectKey
    ) -> Sequence[RefinementSession]:
        """The project's sessions, newest first."""
        async with self._uow() as uow:
            await require_access(uow, tenant)
            return await uow.sessions.for_project(tenant, project)

    # -- opening -----------------------------------------------------------------------

    async def open(
        self,
        tenant: TenantKey,
        owner: AccountId,
        project: ProjectKey,
        issue_keys: Sequence[IssueKey],
        mode: SessionMode,
        config: RoomConfig,
        save_default_for: IssueTypeId | None = None,
    ) -> RefinementSession:
        """A new session of the project's issues, owned by the caller; with
        `save_default_for`, its settings become the caller's default for the project and
        that issue type (as a room's do)."""
        now = self._clock.now()
        session = RefinementSession.open(
            tenant, SessionId.generate(), project, owner, config, mode, issue_keys, now
        )
        async with self._uow() as uow:
            await require_access(uow, tenant)
            if await uow.sessions.count_for_project(tenant, project) >= MAX_SESSIONS_PER_PROJECT:
                raise InvalidState(
                    f"{project} keeps {MAX_SESSIONS_PER_PROJECT} sessions, the most it may; "
                    "remove finished ones"
                )
            await uow.sessions.add(session)
            if save_default_for is not None:
                key = DefaultsKey(tenant, owner, project, save_default_for)
                await save_defaults(uow, self._bounds, key, config, now)
            await uow.commit()
        await self._events.publish(session.drain_events())
        return session

    # -- changing --------------------------------------------------------------------------

    async def change(
        self,
        tenant: TenantKey,
        session_id: SessionId,
        action: Callable[[RefinementSession, datetime], object],
    ) -> RefinementSession:
        """The session after `action`, committed (not written when nothing changed)."""

        async def attempt() -> RefinementSession:
            async with self._uow() as uow:
                await require_access(uow, tenant)
                session = await uow.sessions.get(tenant, session_id)
                before = session.version
                action(session, self._clock.now())
                if session.version != before:
                    await uow.sessions.save(session)
                    await uow.commit()
            await self._events.publish(session.drain_events())
            return session

        return await retrying(attempt)

    async def add_issues(
        self,
        tenant: TenantKey,
        actor: AccountId,
        session_id: SessionId,
        issue_keys: Sequence[IssueKey],
        position: int | None = None,
    ) -> RefinementSession:
        """Add issues to the queue (at `position`, else at the end)."""
        return await self.change(
            tenant,
            session_id,
            lambda s, now: s.add_issues(actor, issue_keys, now, position=position),
        )

    async def remove_issue(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId, issue_key: IssueKey
    ) -> RefinementSession:
        """Take an issue out of the queue (its room stays, as the issue's own)."""
        return await self.change(
            tenant, session_id, lambda s, now: s.remove_issue(actor, issue_key, now)
        )

    async def move(
        self,
        tenant: TenantKey,
        actor: AccountId,
        session_id: SessionId,
        issue_key: IssueKey,
        position: int,
    ) -> RefinementSession:
        """Put an issue at `position` of the queue."""
        return await self.change(
            tenant, session_id, lambda s, now: s.move(actor, issue_key, position, now)
        )

    async def start_issue(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId, issue_key: IssueKey
    ) -> RefinementSession:
        """Make an issue current and give it a room."""
        session = await self.change(
            tenant, session_id, lambda s, now: s.start_issue(actor, issue_key, now)
        )
        return await self._with_room(session)

    async def next(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId
    ) -> RefinementSession:
        """Move to the next issue still to be estimated, and give it a room."""
        session = await self.change(tenant, session_id, lambda s, now: s.next(actor, now))
        return await self._with_room(session)

    async def skip(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId
    ) -> RefinementSession:
        """Skip the current issue and move to the next, giving it a room."""
        session = await self.change(tenant, session_id, lambda s, now: s.skip(actor, now))
        return await self._with_room(session)

    async def finish(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId
    ) -> RefinementSession:
        """End the session (it stays readable)."""
        return await self.change(tenant, session_id, lambda s, now: s.finish(actor, now))

    async def configure(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId, config: RoomConfig
    ) -> RefinementSession:
        """Change the configuration the session's next rooms are opened with."""
        return await self.change(tenant, session_id, lambda s, now: s.configure(actor, config, now))

    async def remove(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId
    ) -> RefinementSession:
        """Remove the session and the rooms it opened (rooms it took over stay)."""

        async def attempt() -> RefinementSession:
            async with self._uow() as uow:
                await require_access(uow, tenant)
                session = await uow.sessions.get(tenant, session_id)
                session.remove(actor, self._clock.now())
                await uow.sessions.delete(tenant, session_id)
                await uow.commit()
            await self._events.publish(session.drain_events())
            return session

        session = await retrying(attempt)
        for room_id in session.rooms_opened():
            await self._close_room(tenant, room_id)
        return session

    # -- rooms -----------------------------------------------------------------------------

    async def _with_room(self, session: RefinementSession) -> RefinementSession:
        """The session, its current issue given a room if it has none yet."""
        if session.current is None or session.item(session.current).room_id is not None:
            return session
        issue_key = session.current
        async with self._uow() as uow:
            site = await require_tenant(uow, session.tenant)
            existing = await uow.rooms.find_by_issue(session.tenant, issue_key)
        if existing is None:
            await self._jira.require_issue(site, issue_key)
        return await retrying(lambda: self._attach_room(session, issue_key))

    async def _attach_room(self, read: RefinementSession, issue_key: IssueKey) -> RefinementSession:
        async with self._uow() as uow:
            session = await uow.sessions.get(read.tenant, read.id)
            if not session.holds(issue_key) or session.item(issue_key).room_id is not None:
                return session
            now = self._clock.now()
            room = await uow.rooms.find_by_issue(session.tenant, issue_key)
            opened = room is None
            if room is None:
                owner = session.owner
                if owner is None:
                    raise InvalidState("the session has no owner to open the issue's room")
                room = Room.open(
                    session.tenant, RoomId.generate(), issue_key, owner, session.config, now
                )
                await uow.rooms.add(room)
            session.room_opened(issue_key, room.id, now, opened=opened)
            await uow.sessions.save(session)
            await uow.commit()
            events = uow.rooms.collect_events()
        await self._events.publish([*events, *session.drain_events()])
        return session

    async def _close_room(self, tenant: TenantKey, room_id: RoomId) -> None:
        try:
            await self._rooms.apply(tenant, room_id, lambda r, now: r.close(now), delete=True)
        except NotFound:
            return  # removed on its own already
