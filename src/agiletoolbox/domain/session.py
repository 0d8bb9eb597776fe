"""A refinement session: a team estimates a queue of a project's issues in one sitting.

The session holds the project, its owner, one configuration for every issue (as a room's),
a mode (`live`: everyone follows the owner from issue to issue; `async`: everyone walks
the queue at their own pace, then the owner reviews it live), the ordered queue of issue
keys with a state each, and the current issue.

An async session runs from the start: every issue's room takes votes at once, with no
reveal, until the owner (or the deadline, through a scheduled job) reviews it. The review
records per issue how many voted and how far they agreed (`ReviewMark`, counts only),
puts the least agreed issues first, and turns the session live from the top of the queue.

Voting happens in each issue's room: the session records which room it opened for an
issue and follows the room's state (`issue_progressed`), but never holds a card.

Nothing typed by people is kept: a session has no name or description, and its queue is
issue keys (the browser runs the JQL and reads summaries). Only the owner drives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum

from attrs import define as mutable
from attrs import evolve, field, frozen

from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.errors import InvalidState, InvalidValue, NotFound, NotPermitted
from agiletoolbox.domain.ids import AccountId, IssueKey, ProjectKey, RoomId, SessionId, TenantKey
from agiletoolbox.domain.session_review import ReviewMark
from agiletoolbox.domain.timing import require_aware

MAX_QUEUE = 200
"""The most issues a session's queue holds."""

MAX_DEADLINE = timedelta(days=90)
"""How far ahead an async session's deadline may be."""


class SessionMode(Enum):
    """How the team goes through the queue."""

    LIVE = "live"
    ASYNC = "async"


class SessionState(Enum):
    """Where the session is: being prepared, under way, or over."""

    PLANNING = "planning"
    RUNNING = "running"
    FINISHED = "finished"


class IssueState(Enum):
    """Where one issue of the queue is."""

    PENDING = "pending"
    VOTING = "voting"
    REVEALED = "revealed"
    ESTIMATED = "estimated"
    SKIPPED = "skipped"


OPEN_STATES = frozenset({IssueState.PENDING, IssueState.VOTING, IssueState.REVEALED})
"""States of an issue still to be estimated (what `next` may move to)."""


@frozen
class QueuedIssue:
    """One issue of the queue: its key, its state, and its room: one the session opened
    (`opened_room`: removing the session removes it) or the issue's own, which the session
    took over as it was (removing the session leaves it)."""

    issue_key: IssueKey
    state: IssueState = IssueState.PENDING
    room_id: RoomId | None = None
    opened_room: bool = False
    review: ReviewMark | None = None
    """How the async phase ended for it (set by the review)."""


@frozen
class SessionChanged:
    """The session changed; `version` is its version after the change (what the bus says)."""

    tenant: TenantKey
    session_id: SessionId
    version: int
    at: datetime


@mutable
class RefinementSession:
    """The aggregate; every change goes through its methods, which keep the rules."""

    tenant: TenantKey
    id: SessionId
    project: ProjectKey
    owner: AccountId | None
    config: RoomConfig
    mode: SessionMode
    created_at: datetime
    updated_at: datetime
    queue: list[QueuedIssue] = field(factory=list)
    current: IssueKey | None = None
    state: SessionState = SessionState.PLANNING
    version: int = 1
    removed: bool = False
    deadline: datetime | None = None
    """When an async session goes to review by itself."""
    reviewed_at: datetime | None = None
    """When the async phase ended (the session is live from then on)."""
    pending_events: list[SessionChanged] = field(factory=list, eq=False, repr=False)

    @classmethod
    def open(
        cls,
        tenant: TenantKey,
        session_id: SessionId,
        project: ProjectKey,
        owner: AccountId,
        config: RoomConfig,
        mode: SessionMode,
        issue_keys: Iterable[IssueKey],
        now: datetime,
        deadline: datetime | None = None,
    ) -> RefinementSession:
        """A new session of `project` owned by the person who opens it, with its queue; an
        async one runs at once (everyone may vote), until `deadline` if it has one."""
        require_aware(now)
        session = cls(tenant, session_id, project, owner, config, mode, now, now)
        session.queue = session._checked_additions(list(issue_keys))
        if deadline is not None:
            require_aware(deadline)
            if mode is not SessionMode.ASYNC:
                raise InvalidValue("only an async session has a deadline")
            if not now < deadline <= now + MAX_DEADLINE:
                raise InvalidValue(
                    f"a deadline is in the future, at most {MAX_DEADLINE.days} days ahead"
                )
            session.deadline = deadline
        if mode is SessionMode.ASYNC:
            session.state = SessionState.RUNNING
        session.pending_events.append(SessionChanged(tenant, session_id, session.version, now))
        return session

    # -- reading -----------------------------------------------------------------------

    def item(self, issue_key: IssueKey) -> QueuedIssue:
        """The queue's entry of `issue_key`; `NotFound` when the queue does not hold it."""
        for entry in self.queue:
            if entry.issue_key == issue_key:
                return entry
        raise NotFound(f"{issue_key} is not in the session")

    def holds(self, issue_key: IssueKey) -> bool:
        """Whether the queue holds the issue."""
        return any(entry.issue_key == issue_key for entry in self.queue)

    @property
    def estimated(self) -> int:
        """How many issues got an estimate."""
        return sum(entry.state is IssueState.ESTIMATED for entry in self.queue)

    @property
    def estimating(self) -> bool:
        """Whether everyone is still estimating at their own pace (async, not reviewed):
        every issue takes votes, and none is revealed."""
        return self.mode is SessionMode.ASYNC and self.state is SessionState.RUNNING

    def due_for_review(self, now: datetime) -> bool:
        """Whether the deadline of an async session has come."""
        return self.estimating and self.deadline is not None and self.deadline <= now

    def room_config(self) -> RoomConfig:
        """The configuration the session opens its issues' rooms with: an async session's
        rooms never reveal by themselves (the review decides) and count offline votes."""
        if self.mode is not SessionMode.ASYNC:
            return self.config
        return evolve(self.config, auto_reveal=False, reveal_on_timer=False, offline_voting=True)

    def mentions(self, account: AccountId) -> bool:
        """Whether the session keeps the account id (only as its owner)."""
        return self.owner == account

    # -- the queue (the owner only) -------------------------------------------------------

    def add_issues(
        self,
        actor: AccountId,
        issue_keys: Sequence[IssueKey],
        now: datetime,
        position: int | None = None,
    ) -> None:
        """Add issues at `position` (the end when None); ones the queue holds are left
        where they are."""
        self._driving(actor, now, "add issues")
        fresh = [key for key in dict.fromkeys(issue_keys) if not self.holds(key)]
        if not fresh:
            return
        added = self._checked_additions(fresh)
        at = len(self.queue) if position is None else self._position(position, len(self.queue))
        self.queue[at:at] = added
        self._changed(now)

    def remove_issue(self, actor: AccountId, issue_key: IssueKey, now: datetime) -> None:
        """Take an issue out of the queue (its room stays, as the issue's own); removing
        the current issue leaves none current."""
        self._driving(actor, now, "remove issues")
        entry = self.item(issue_key)
        self.queue.remove(entry)
        if self.current == issue_key:
            self.current = None
        self._changed(now)

    def move(self, actor: AccountId, issue_key: IssueKey, position: int, now: datetime) -> None:
        """Put an issue at `position` of the queue (0 is the top)."""
        self._driving(actor, now, "reorder the queue")
        entry = self.item(issue_key)
        at = self._position(position, len(self.queue) - 1)
        if self.queue.index(entry) == at:
            return
        self.queue.remove(entry)
        self.queue.insert(at, entry)
        self._changed(now)

    # -- going through it (the owner only) ---------------------------------------------------

    def start_issue(self, actor: AccountId, issue_key: IssueKey, now: datetime) -> None:
        """Make `issue_key` the current issue: voting starts on it (again, if skipped)."""
        self._steering(actor, now, "pick the current issue")
        entry = self.item(issue_key)
        if self.current == issue_key:
            return
        self.current = issue_key
        self.state = SessionState.RUNNING
        if entry.state in (IssueState.PENDING, IssueState.SKIPPED):
            self._replace(evolve(entry, state=IssueState.VOTING))
        self._changed(now)

    def next(self, actor: AccountId, now: datetime) -> IssueKey | None:
        """Move to the next issue still to be estimated after the current one (from the
        top when there is none after it); None, and no current issue, when all are done."""
        self._steering(actor, now, "move to the next issue")
        following = self._next_open()
        if following is None:
            if self.current is not None:
                self.current = None
                self._changed(now)
            return None
        self.start_issue(actor, following, now)
        return following

    def skip(self, actor: AccountId, now: datetime) -> IssueKey | None:
        """Mark the current issue skipped and move to the next one."""
        self._steering(actor, now, "skip an issue")
        if self.current is None:
            raise InvalidState("no issue is current")
        entry = self.item(self.current)
        if entry.state is not IssueState.ESTIMATED:
            self._replace(evolve(entry, state=IssueState.SKIPPED))
            self._changed(now)
        return self.next(actor, now)

    def review(
        self, actor: AccountId | None, marks: Mapping[IssueKey, ReviewMark], now: datetime
    ) -> None:
        """End the async phase (the owner, or the deadline when `actor` is None): record
        how each issue ended (`marks`, from its room's hidden votes), put the issues still
        open that got votes first, the least agreed at the top, then the open ones nobody
        voted on, then the closed ones; the session turns live on the first of them."""
        self._live(now)
        if actor is not None:
            self._require_owner(actor, "review the session")
        if self.state is SessionState.FINISHED:
            raise InvalidState("the session is finished")
        if not self.estimating:
            raise InvalidState("only an async session still being estimated can be reviewed")
        marked = [evolve(e, review=marks.get(e.issue_key, ReviewMark(0, None))) for e in self.queue]

        def rank(entry: QueuedIssue) -> tuple[int, float]:
            mark = entry.review
            if entry.state not in OPEN_STATES:
                return (2, 0.0)
            if mark is None or mark.votes == 0:
                return (1, 0.0)
            return (0, -1.0 if mark.agreement is None else mark.agreement)

        self.queue = sorted(marked, key=rank)
        self.mode = SessionMode.LIVE
        self.reviewed_at = now
        first = next((e for e in self.queue if e.state in OPEN_STATES), None)
        self.current = None if first is None else first.issue_key
        self._changed(now)

    def finish(self, actor: AccountId, now: datetime) -> None:
        """End the session: nothing changes in it afterwards (it stays readable)."""
        self._live(now)
        self._require_owner(actor, "finish the session")
        if self.state is SessionState.FINISHED:
            return
        self.state = SessionState.FINISHED
        self.current = None
        self._changed(now)

    def configure(self, actor: AccountId, config: RoomConfig, now: datetime) -> None:
        """Change the configuration the session's issues are estimated with."""
        self._driving(actor, now, "configure the session")
        if config == self.config:
            return
        self.config = config
        self._changed(now)

    # -- what the rooms report (no actor: the service calls these) -------------------------

    def room_opened(
        self, issue_key: IssueKey, room_id: RoomId, now: datetime, *, opened: bool = True
    ) -> None:
        """The session opened the issue's room (`opened`), or took over the room the issue
        had already."""
        self._live(now)
        entry = self.item(issue_key)
        state = entry.state
        if self.estimating and state is IssueState.PENDING:
            state = IssueState.VOTING  # every issue of an async session takes votes at once
        if entry.room_id == room_id and entry.opened_room is opened and entry.state is state:
            return
        self._replace(evolve(entry, room_id=room_id, opened_room=opened, state=state))
        self._changed(now)

    def rooms_opened(self) -> list[RoomId]:
        """The rooms this session opened (what removing it removes)."""
        return [e.room_id for e in self.queue if e.room_id is not None and e.opened_room]

    def issue_progressed(self, issue_key: IssueKey, state: IssueState, now: datetime) -> None:
        """The issue's room moved on: votes revealed, an estimate written, a new round.
        A skipped issue stays skipped until it is picked again."""
        self._live(now)
        if state in (IssueState.PENDING, IssueState.SKIPPED):
            raise InvalidValue("a room reports voting, revealed or estimated")
        entry = self.item(issue_key)
        if entry.state is IssueState.SKIPPED or entry.state is state:
            return
        self._replace(evolve(entry, state=state))
        self._changed(now)

    def erase_account(self, account: AccountId, now: datetime) -> None:
        """Forget the account: an erased owner leaves the session without one."""
        require_aware(now)
        if self.owner == account:
            self.owner = None
            self._changed(now)

    def remove(self, actor: AccountId, now: datetime) -> None:
        """Mark the session removed (the owner only); the repository deletes it."""
        self._live(now)
        self._require_owner(actor, "remove the session")
        self.removed = True
        self._changed(now)

    # -- internals ---------------------------------------------------------------------------

    def _checked_additions(self, issue_keys: list[IssueKey]) -> list[QueuedIssue]:
        if len(set(issue_keys)) != len(issue_keys):
            raise InvalidValue("an issue appears twice")
        foreign = [key for key in issue_keys if key.project != self.project]
        if foreign:
            raise InvalidValue(f"{foreign[0]} is not an issue of {self.project}")
        if len(self.queue) + len(issue_keys) > MAX_QUEUE:
            raise InvalidValue(f"a session holds at most {MAX_QUEUE} issues")
        return [QueuedIssue(key) for key in issue_keys]

    @staticmethod
    def _position(position: int, highest: int) -> int:
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise InvalidValue("a position is a whole number from 0")
        return min(position, highest)

    def _next_open(self) -> IssueKey | None:
        keys = [entry.issue_key for entry in self.queue]
        start = keys.index(self.current) + 1 if self.current in keys else 0
        for entry in [*self.queue[start:], *self.queue[:start]]:
            if entry.state in OPEN_STATES and entry.issue_key != self.current:
                return entry.issue_key
        return None

    def _replace(self, entry: QueuedIssue) -> None:
        for n, existing in enumerate(self.queue):
            if existing.issue_key == entry.issue_key:
                self.queue[n] = entry
                return

    def _driving(self, actor: AccountId, now: datetime, what: str) -> None:
        self._live(now)
        self._require_owner(actor, what)
        if self.state is SessionState.FINISHED:
            raise InvalidState("the session is finished")

    def _steering(self, actor: AccountId, now: datetime, what: str) -> None:
        self._driving(actor, now, what)
        if self.estimating:
            raise InvalidState(
                "everyone estimates this async session at their own pace; review it first"
            )

    def _require_owner(self, actor: AccountId, what: str) -> None:
        if actor != self.owner:
            raise NotPermitted(f"only the session's owner may {what}")

    def _live(self, now: datetime) -> None:
        require_aware(now)
        if self.removed:
            raise NotFound("the session was removed")

    def _changed(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = max(self.updated_at, now)
        self.pending_events.append(SessionChanged(self.tenant, self.id, self.version, now))

    def drain_events(self) -> list[SessionChanged]:
        """The changes recorded since the last drain, oldest first."""
        events, self.pending_events = self.pending_events, []
        return events
