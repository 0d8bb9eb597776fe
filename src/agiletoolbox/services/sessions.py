"""Refinement sessions: open one, go through its queue, remove it.

Every committed change is published on the event bus (`SessionChange`), which is how every
process's live session pages hear of it. A room's progress reaches its sessions through
`RoomChanges` (services/rooms.py), in the room change's own transaction.

A session drives one room per issue: when an issue becomes current, the session opens its
room (with the session's configuration and owner) or, when the issue has a room of its own
already, takes that room over as it is (`session_rooms.py`). Removing the session removes
the rooms it opened and leaves the ones it took over. Every change is read, applied, saved
against the version read and committed, again on fresh state after a lost race
(`retrying`).

An async session gives every issue its room at once (rooms taken over stop revealing by
themselves while it runs). Its review, by the owner or by the deadline job (`review_due`,
under the job lock; the review itself happens once, whoever gets there first), reads the
rooms' hidden votes for counts and agreement only. "Accept all unanimous" reveals each
issue whose open round is unanimous and writes that card to Jira, as the owner would one
by one (`RoomService.accept_estimate`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from attrs import frozen

from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.defaults import DefaultsKey
from agiletoolbox.domain.errors import DomainError, InvalidState, NotPermitted
from agiletoolbox.domain.ids import (
    AccountId,
    IssueKey,
    IssueTypeId,
    ProjectKey,
    SessionId,
    TenantKey,
)
from agiletoolbox.domain.session import (
    OPEN_STATES,
    IssueState,
    RefinementSession,
    SessionMode,
)
from agiletoolbox.domain.session_review import ReviewMark, agreed_card
from agiletoolbox.ports import (
    Clock,
    JobLock,
    RoomEventBus,
    UnitOfWorkFactory,
    UserToken,
)
from agiletoolbox.ports.jira import JiraClient
from agiletoolbox.services.retry import retrying
from agiletoolbox.services.rooms import RoomService, SiteBounds, save_defaults
from agiletoolbox.services.session_rooms import SessionRooms, progress_of_room, rooms_of
from agiletoolbox.services.tenancy import require_access

T = TypeVar("T")

MAX_SESSIONS_PER_PROJECT = 1_000
"""The most sessions a project keeps (finished ones count until retention removes them)."""

DEADLINE_JOB = "session-deadlines"
"""The job that reviews async sessions whose deadline has come (one process at a time)."""


@frozen
class Acceptance:
    """What "accept all unanimous" did: the issues whose estimate was written, and those
    that failed, each with what went wrong (Jira's refusal, a lost owner)."""

    session: RefinementSession
    accepted: tuple[IssueKey, ...]
    failed: tuple[tuple[IssueKey, str], ...]


class SessionService:
    """The use cases of refinement sessions."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        events: RoomEventBus,
        clock: Clock,
        jira: JiraClient,
        bounds: SiteBounds | None = None,
        rooms: RoomService | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._events = events
        self._clock = clock
        self._jira = jira
        self._bounds = bounds or SiteBounds()
        self._rooms = SessionRooms(unit_of_work, events, clock, jira)
        self._room_service = rooms or RoomService(unit_of_work, events, clock, jira, bounds)

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
        deadline: datetime | None = None,
    ) -> RefinementSession:
        """A new session of the project's issues, owned by the caller; with
        `save_default_for`, its settings become the caller's default for the project and
        that issue type (as a room's do). An async session's issues get their rooms at
        once (each checked in Jira first, unless it has a room already)."""
        now = self._clock.now()
        session = RefinementSession.open(
            tenant,
            SessionId.generate(),
            project,
            owner,
            config,
            mode,
            issue_keys,
            now,
            deadline=deadline,
        )
        if session.estimating:
            await self._rooms.require_issues(tenant, [e.issue_key for e in session.queue])
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
        if session.estimating:
            return await self._rooms.with_rooms(session, [e.issue_key for e in session.queue])
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
        """Add issues to the queue (at `position`, else at the end); while an async
        session is estimated, each gets its room at once."""
        if (await self.get(tenant, session_id)).estimating:
            await self._rooms.require_issues(tenant, issue_keys)
        session = await self.change(
            tenant,
            session_id,
            lambda s, now: s.add_issues(actor, issue_keys, now, position=position),
        )
        if session.estimating:
            return await self._rooms.with_rooms(session, issue_keys)
        return session

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
        return await self._rooms.with_room(session)

    async def next(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId
    ) -> RefinementSession:
        """Move to the next issue still to be estimated, and give it a room."""
        session = await self.change(tenant, session_id, lambda s, now: s.next(actor, now))
        return await self._rooms.with_room(session)

    async def skip(
        self, tenant: TenantKey, actor: AccountId, session_id: SessionId
    ) -> RefinementSession:
        """Skip the current issue and move to the next, giving it a room."""
        session = await self.change(tenant, session_id, lambda s, now: s.skip(actor, now))
        return await self._rooms.with_room(session)

    async def review(
        self, tenant: TenantKey, actor: AccountId | None, session_id: SessionId
    ) -> RefinementSession:
        """End an async session's async phase (`actor` None: its deadline came): each
        issue's hidden votes give it a mark, the least agreed come first, and the session
        turns live on the first of them."""

        async def attempt() -> RefinementSession:
            async with self._uow() as uow:
                await require_access(uow, tenant)
                session = await uow.sessions.get(tenant, session_id)
                rooms = await rooms_of(uow, session)
                marks = {
                    entry.issue_key: ReviewMark.of(
                        room.config.cards, room.votes, room.config.suggestion
                    )
                    for entry in session.queue
                    if entry.room_id is not None
                    and (room := rooms.get(entry.room_id)) is not None
                    and not room.revealed
                }
                session.review(actor, marks, self._clock.now())
                await uow.sessions.save(session)
                await uow.commit()
            await self._events.publish(session.drain_events())
            return session

        return await self._rooms.with_room(await retrying(attempt))

    async def review_due(self, lock: JobLock) -> int | None:
        """Review every async session whose deadline has come; None when another process
        holds the job. A session reviewed meanwhile (by its owner, or by another process
        that got past the lock) is left as it is: the review happens once."""
        async with lock.exclusive(DEADLINE_JOB) as mine:
            if not mine:
                return None
            async with self._uow() as uow:
                due = await uow.sessions.due_for_review(self._clock.now())
            reviewed = 0
            for tenant, session_id in due:
                try:
                    await self.review(tenant, None, session_id)
                except DomainError:
                    continue  # reviewed, finished or removed meanwhile; or the site left
                reviewed += 1
            return reviewed

    async def accept_unanimous(
        self,
        tenant: TenantKey,
        actor: AccountId,
        session_id: SessionId,
        user_token: UserToken | None = None,
    ) -> Acceptance:
        """Reveal each open issue whose open round is unanimous (two votes or more, the same
        estimate card) and write that card to its Jira field, one issue after another as
        the owner would; an issue that fails is reported and the others go on."""
        async with self._uow() as uow:
            await require_access(uow, tenant)
            session = await uow.sessions.get(tenant, session_id)
            rooms = await rooms_of(uow, session)
        if actor != session.owner:
            raise NotPermitted("only the session's owner may accept estimates")
        if session.estimating:
            raise InvalidState("review the async session before accepting its estimates")
        accepted: list[IssueKey] = []
        failed: list[tuple[IssueKey, str]] = []
        for entry in session.queue:
            room = None if entry.room_id is None else rooms.get(entry.room_id)
            if (
                entry.state not in OPEN_STATES
                or room is None
                or progress_of_room(room) is IssueState.ESTIMATED
            ):
                continue
            card = agreed_card(room.config.cards, room.votes)
            if card is None:
                continue
            try:
                await self._room_service.reveal(tenant, actor, room.id, round_=room.round)
                await self._room_service.accept_estimate(
                    tenant, actor, room.id, card, user_token=user_token
                )
            except DomainError as error:
                failed.append((entry.issue_key, str(error)))
            else:
                accepted.append(entry.issue_key)
        return Acceptance(await self.get(tenant, session_id), tuple(accepted), tuple(failed))

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
            await self._rooms.close(tenant, room_id)
        return session
