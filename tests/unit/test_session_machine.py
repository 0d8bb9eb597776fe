"""The refinement session as a state machine: any sequence of operations keeps its rules.

A model keeps the queue's order by itself (a list of keys); after every step the session
must agree with it, and the invariants hold: distinct keys of the session's project, at
most `MAX_QUEUE`, the current issue in the queue and being estimated, a finished session
without a current issue, the version grown by one per change and not at all when an
operation was refused or changed nothing, and only the owner drives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.deck import T_SHIRT
from agiletoolbox.domain.errors import DomainError, InvalidState, NotPermitted
from agiletoolbox.domain.ids import AccountId, IssueKey, ProjectKey, RoomId, SessionId, TenantKey
from agiletoolbox.domain.session import (
    MAX_QUEUE,
    IssueState,
    RefinementSession,
    SessionMode,
    SessionState,
)

TENANT = TenantKey("tenant-one")
PROJECT = ProjectKey("DEMO")
OWNER = AccountId("557058:owner")
STRANGER = AccountId("557058:stranger")
START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
POOL = [IssueKey(f"DEMO-{n}") for n in range(1, 13)]
FOREIGN = IssueKey("OTHER-1")

keys = st.sampled_from(POOL)
actors = st.sampled_from([OWNER, OWNER, OWNER, STRANGER])
positions = st.integers(min_value=-1, max_value=14)
reported = st.sampled_from([IssueState.VOTING, IssueState.REVEALED, IssueState.ESTIMATED])

REFUSED = object()


def snapshot(session: RefinementSession) -> tuple[Any, ...]:
    return (
        tuple(session.queue),
        session.current,
        session.state,
        session.config,
        session.owner,
        session.removed,
    )


class SessionMachine(RuleBasedStateMachine):
    session: RefinementSession
    order: list[IssueKey]

    def __init__(self) -> None:
        super().__init__()
        self.now = START

    @initialize(first=st.lists(keys, unique=True, max_size=6), mode=st.sampled_from(SessionMode))
    def open_session(self, first: list[IssueKey], mode: SessionMode) -> None:
        self.session = RefinementSession.open(
            TENANT, SessionId.generate(), PROJECT, OWNER, RoomConfig(), mode, first, self.now
        )
        self.order = list(first)
        assert self.session.version == 1
        assert [e.state for e in self.session.queue] == [IssueState.PENDING] * len(first)
        assert len(self.session.drain_events()) == 1

    def call(self, actor: AccountId | None, operation: Callable[[], object]) -> object:
        """Run `operation`; a refusal changes nothing, and a stranger is always refused."""
        self.now += timedelta(seconds=1)
        before, version = snapshot(self.session), self.session.version
        try:
            result = operation()
        except DomainError:
            assert snapshot(self.session) == before, "a refused operation changed the session"
            assert self.session.version == version
            assert self.session.drain_events() == []
            return REFUSED
        assert actor != STRANGER, "only the owner drives the session"
        changes = self.session.drain_events()
        assert [e.version for e in changes] == list(range(version + 1, self.session.version + 1))
        assert (snapshot(self.session) == before) == (not changes), "a change and its event"
        return result

    # -- the queue ---------------------------------------------------------------------

    @rule(actor=actors, added=st.lists(keys, max_size=4), position=positions)
    def add(self, actor: AccountId, added: list[IssueKey], position: int) -> None:
        at = None if position < 0 else position
        result = self.call(
            actor, lambda: self.session.add_issues(actor, added, self.now, position=at)
        )
        if result is not REFUSED:
            fresh = [key for key in dict.fromkeys(added) if key not in self.order]
            where = len(self.order) if at is None else min(at, len(self.order))
            self.order[where:where] = fresh

    @rule(actor=actors)
    def add_a_foreign_issue(self, actor: AccountId) -> None:
        result = self.call(actor, lambda: self.session.add_issues(actor, [FOREIGN], self.now))
        assert result is REFUSED, "an issue of another project never joins the queue"

    @rule(actor=actors, key=keys)
    def remove(self, actor: AccountId, key: IssueKey) -> None:
        result = self.call(actor, lambda: self.session.remove_issue(actor, key, self.now))
        if result is not REFUSED:
            self.order.remove(key)

    @rule(actor=actors, key=keys, position=st.integers(min_value=0, max_value=14))
    def move(self, actor: AccountId, key: IssueKey, position: int) -> None:
        result = self.call(actor, lambda: self.session.move(actor, key, position, self.now))
        if result is not REFUSED:
            self.order.remove(key)
            self.order.insert(min(position, len(self.order)), key)

    # -- going through it ------------------------------------------------------------------

    @rule(actor=actors, key=keys)
    def start(self, actor: AccountId, key: IssueKey) -> None:
        result = self.call(actor, lambda: self.session.start_issue(actor, key, self.now))
        if result is not REFUSED:
            assert self.session.current == key
            assert self.session.state is SessionState.RUNNING

    @rule(actor=actors)
    def next_issue(self, actor: AccountId) -> None:
        previous = self.session.current
        result = self.call(actor, lambda: self.session.next(actor, self.now))
        if result is REFUSED:
            return
        assert result == self.session.current
        if result is None:
            still_open = [
                e.issue_key
                for e in self.session.queue
                if e.state in (IssueState.PENDING, IssueState.VOTING, IssueState.REVEALED)
            ]
            assert still_open in ([], [previous]), "next stops only when nothing else is open"

    @rule(actor=actors)
    def skip(self, actor: AccountId) -> None:
        skipped = self.session.current
        result = self.call(actor, lambda: self.session.skip(actor, self.now))
        if result is not REFUSED and skipped is not None and skipped in self.order:
            assert self.session.item(skipped).state in (IssueState.SKIPPED, IssueState.ESTIMATED)

    @rule(key=keys, state=reported)
    def room_reports(self, key: IssueKey, state: IssueState) -> None:
        before = self.session.item(key).state if self.session.holds(key) else None
        result = self.call(None, lambda: self.session.issue_progressed(key, state, self.now))
        if result is not REFUSED:
            expected = before if before is IssueState.SKIPPED else state
            assert self.session.item(key).state is expected

    @rule(state=reported)
    def the_room_of_a_skipped_issue_reports(self, state: IssueState) -> None:
        skipped = [e.issue_key for e in self.session.queue if e.state is IssueState.SKIPPED]
        if skipped:
            self.room_reports(skipped[0], state)

    @rule(state=reported)
    def the_current_room_reports(self, state: IssueState) -> None:
        if self.session.current is not None:
            self.room_reports(self.session.current, state)

    @rule(key=keys)
    def room_opened(self, key: IssueKey) -> None:
        room = RoomId(f"room-of-issue-{key.value}")
        result = self.call(None, lambda: self.session.room_opened(key, room, self.now))
        if result is not REFUSED:
            assert self.session.item(key).room_id == room

    @rule(actor=actors)
    def configure(self, actor: AccountId) -> None:
        config = RoomConfig(deck=T_SHIRT)
        self.call(actor, lambda: self.session.configure(actor, config, self.now))

    @rule(actor=actors)
    def finish(self, actor: AccountId) -> None:
        result = self.call(actor, lambda: self.session.finish(actor, self.now))
        if result is not REFUSED:
            assert self.session.state is SessionState.FINISHED
            again = self.call(OWNER, lambda: self.session.add_issues(OWNER, POOL, self.now))
            assert again is REFUSED, "a finished session takes no more changes"

    # -- what always holds --------------------------------------------------------------------

    @invariant()
    def the_queue_follows_the_model(self) -> None:
        assert [e.issue_key for e in self.session.queue] == self.order

    @invariant()
    def the_queue_is_the_projects_and_bounded(self) -> None:
        queued = [e.issue_key for e in self.session.queue]
        assert len(set(queued)) == len(queued) <= MAX_QUEUE
        assert all(key.project == PROJECT for key in queued)

    @invariant()
    def the_current_issue_is_queued_and_being_estimated(self) -> None:
        current = self.session.current
        if current is None:
            return
        assert self.session.holds(current)
        assert self.session.item(current).state not in (IssueState.PENDING, IssueState.SKIPPED)
        assert self.session.state is SessionState.RUNNING

    @invariant()
    def a_finished_session_has_no_current_issue(self) -> None:
        if self.session.state is SessionState.FINISHED:
            assert self.session.current is None


TestSessionMachine = SessionMachine.TestCase


def test_a_queue_over_the_bound_or_with_a_twin_is_refused() -> None:
    from agiletoolbox.domain.errors import InvalidValue

    many = [IssueKey(f"DEMO-{n}") for n in range(1, MAX_QUEUE + 2)]
    for queue in (many, [POOL[0], POOL[0]], [FOREIGN]):
        try:
            RefinementSession.open(
                TENANT, SessionId.generate(), PROJECT, OWNER, RoomConfig(),
                SessionMode.LIVE, queue, START,
            )  # fmt: skip
        except InvalidValue:
            continue
        raise AssertionError(f"{len(queue)} issues were taken")


def test_skipping_moves_on_and_next_wraps_to_what_is_left() -> None:
    session = RefinementSession.open(
        TENANT, SessionId.generate(), PROJECT, OWNER, RoomConfig(), SessionMode.LIVE,
        POOL[:3], START,
    )  # fmt: skip
    assert session.next(OWNER, START) == POOL[0]
    session.issue_progressed(POOL[0], IssueState.ESTIMATED, START)
    assert session.skip(OWNER, START) == POOL[1]  # the estimated one stays estimated
    assert session.skip(OWNER, START) == POOL[2]
    assert [e.state for e in session.queue] == [
        IssueState.ESTIMATED,
        IssueState.SKIPPED,
        IssueState.VOTING,
    ]
    session.issue_progressed(POOL[2], IssueState.ESTIMATED, START)
    assert session.next(OWNER, START) is None, "a skipped issue is picked again by hand only"
    session.start_issue(OWNER, POOL[1], START)
    assert session.item(POOL[1]).state is IssueState.VOTING
    with contextlib.suppress(NotPermitted):
        session.finish(STRANGER, START)
    assert session.state is SessionState.RUNNING, "only the owner finishes"
    session.finish(OWNER, START)
    try:
        session.next(OWNER, START)
    except InvalidState:
        return
    raise AssertionError("a finished session moved on")
