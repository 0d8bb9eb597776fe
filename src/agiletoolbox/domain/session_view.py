"""What a refinement session looks like from outside: its view, and its line in a list.

A session holds no card, so its view is the same for everyone but the viewer's own cards;
the current issue's room comes along as the viewer's own masked view of it
(`domain/view.py`), and per issue only counts and the written estimate: how many vote, how
many voted, how many rounds, how far the team agreed when it revealed (or, once an async
session was reviewed, when its async phase ended), and the viewer's own card. `progress`
counts, per person, the issues they hold a vote on: never which card.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from attrs import frozen

from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.consensus import SuggestionRule, consensus
from agiletoolbox.domain.deck import Deck
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, ProjectKey, RoomId, SessionId
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import RefinementSession
from agiletoolbox.domain.view import RoomView, view_of

SessionModeName = Literal["live", "async"]
SessionStateName = Literal["planning", "running", "finished"]
IssueStateName = Literal["pending", "voting", "revealed", "estimated", "skipped"]


@frozen
class SessionConfigView:
    """The configuration every issue of the session is estimated with."""

    deck: Deck
    field_id: FieldId | None
    question_card: bool
    offline_voting: bool
    auto_reveal: bool
    allow_take_control: bool
    persistent: bool
    value_map: tuple[tuple[str, float], ...]
    suggestion: SuggestionRule
    reveal_on_timer: bool
    comment_on_estimate: bool


@frozen
class SessionIssueView:
    """One issue of the queue: its state and the counts of its room."""

    issue_key: IssueKey
    state: IssueStateName
    room_id: RoomId | None
    voters: int
    voted: int
    estimate: str | None
    rounds: int
    agreement: float | None
    review_votes: int | None
    """How many voted in the async phase (once the session was reviewed)."""
    review_agreement: float | None
    """How far they agreed then (once reviewed; None when no vote counted)."""
    unanimous: bool
    """Whether the async phase ended unanimous (at least two votes, all the same card)."""
    your_card: str | None
    """The viewer's own card in the issue's open round (nobody else's)."""


@frozen
class PersonProgress:
    """How many of the queue's issues one person holds a vote on (never which card)."""

    account_id: AccountId
    done: int


@frozen
class SessionView:
    """A session as its project's people see it."""

    id: SessionId
    project_key: ProjectKey
    owner: AccountId | None
    mode: SessionModeName
    state: SessionStateName
    version: int
    created_at: datetime
    config: SessionConfigView
    current: IssueKey | None
    issues: tuple[SessionIssueView, ...]
    room: RoomView | None
    """The current issue's room as the viewer sees it (no card before reveal)."""
    you: AccountId
    """The viewer (so a page knows whether it drives the session)."""
    deadline: datetime | None
    """When an async session goes to review by itself."""
    reviewed_at: datetime | None
    """When an async session's async phase ended."""
    progress: tuple[PersonProgress, ...]
    """Per voter of the queue's rooms, how many issues they voted on, most first."""


@frozen
class AcceptanceFailure:
    """An issue "accept all unanimous" could not estimate, and why."""

    issue_key: IssueKey
    message: str


@frozen
class AcceptanceView:
    """What "accept all unanimous" did, and the session after it."""

    accepted: tuple[IssueKey, ...]
    failed: tuple[AcceptanceFailure, ...]
    session: SessionView


@frozen
class SessionLine:
    """A session in its project's list."""

    id: SessionId
    project_key: ProjectKey
    owner: AccountId | None
    mode: SessionModeName
    state: SessionStateName
    created_at: datetime
    issues: int
    estimated: int


@frozen
class SessionList:
    """A project's sessions, newest first."""

    sessions: tuple[SessionLine, ...]


def config_view(config: RoomConfig) -> SessionConfigView:
    """The configuration as the session view shows it."""
    return SessionConfigView(
        deck=config.cards,
        field_id=config.field_id,
        question_card=config.question_card,
        offline_voting=config.offline_voting,
        auto_reveal=config.auto_reveal,
        allow_take_control=config.allow_take_control,
        persistent=config.persistent,
        value_map=config.value_map,
        suggestion=config.suggestion,
        reveal_on_timer=config.reveal_on_timer,
        comment_on_estimate=config.comment_on_estimate,
    )


def _agreement(room: Room) -> float | None:
    if room.revealed and room.votes:
        return consensus(room.config.cards, room.votes, room.config.suggestion).agreement
    return None


def session_view(
    session: RefinementSession, rooms: Mapping[RoomId, Room], viewer: AccountId
) -> SessionView:
    """The session with the counts of its issues' rooms (`rooms`: those that exist) and
    the viewer's view of the current issue's room."""
    issues = []
    current_room: RoomView | None = None
    done: dict[AccountId, int] = {}
    for entry in session.queue:
        room = rooms.get(entry.room_id) if entry.room_id is not None else None
        estimate = room.estimate if room is not None else None
        if room is not None:
            for voter in room.voters():
                done.setdefault(voter.account_id, 0)
            for account in room.votes:
                done[account] = done.get(account, 0) + 1
        mark = entry.review
        issues.append(
            SessionIssueView(
                issue_key=entry.issue_key,
                state=entry.state.value,
                room_id=entry.room_id if room is not None else None,
                voters=len(room.voters()) if room is not None else 0,
                voted=len(room.votes) if room is not None else 0,
                estimate=estimate.value.label if estimate is not None else None,
                rounds=room.round if room is not None else 0,
                agreement=_agreement(room) if room is not None else None,
                review_votes=None if mark is None else mark.votes,
                review_agreement=None if mark is None else mark.agreement,
                unanimous=mark is not None and mark.unanimous,
                your_card=room.votes.get(viewer) if room is not None else None,
            )
        )
        if room is not None and entry.issue_key == session.current:
            current_room = view_of(room, viewer)
    return SessionView(
        id=session.id,
        project_key=session.project,
        owner=session.owner,
        mode=session.mode.value,
        state=session.state.value,
        version=session.version,
        created_at=session.created_at,
        config=config_view(session.config),
        current=session.current,
        issues=tuple(issues),
        room=current_room,
        you=viewer,
        deadline=session.deadline,
        reviewed_at=session.reviewed_at,
        progress=tuple(
            PersonProgress(account, n)
            for account, n in sorted(done.items(), key=lambda pair: (-pair[1], pair[0].value))
        ),
    )


def session_list(sessions: list[RefinementSession]) -> SessionList:
    """The lines of a project's sessions, in the order given."""
    return SessionList(
        tuple(
            SessionLine(
                id=s.id,
                project_key=s.project,
                owner=s.owner,
                mode=s.mode.value,
                state=s.state.value,
                created_at=s.created_at,
                issues=len(s.queue),
                estimated=s.estimated,
            )
            for s in sessions
        )
    )
