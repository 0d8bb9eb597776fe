"""A refinement session's record: per issue the estimate, the votes and how far the team
agreed, and the totals. Keys and numbers only (summaries are the browser's to add).

The figures of an issue come from its room: the round whose estimate was accepted, else
the last revealed round, else nothing yet. `votes` counts the cards cast in that round
(special cards such as "?" included), `agreement` is the share of counted votes on the most
common card (as the room's results show it), and `rounds` how many rounds the room played.
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from agiletoolbox.domain.consensus import consensus
from agiletoolbox.domain.ids import IssueKey, RoomId, SessionId
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import IssueState, RefinementSession
from agiletoolbox.domain.session_view import IssueStateName


@frozen
class IssueRecord:
    """One issue of the session, as the record keeps it."""

    issue_key: IssueKey
    state: IssueStateName
    estimate: str | None
    """The accepted estimate's label."""
    points: float | None
    """The accepted estimate's number, when the deck's card has one."""
    written: bool
    """Whether Jira confirmed that the issue's field holds the estimate."""
    votes: int
    agreement: float | None
    rounds: int


@frozen
class SessionSummary:
    """The session's record and its totals."""

    id: SessionId
    issues: tuple[IssueRecord, ...]
    estimated: int
    skipped: int
    points: float
    """The sum of the numeric estimates accepted in the session's rooms."""


def _round_figures(room: Room) -> tuple[int, float | None]:
    """(votes, agreement) of the round that counts: the estimated one, else the last
    revealed one; (0, None) when no round was revealed."""
    chosen = room.revealed_round(room.estimate.round if room.estimate is not None else None)
    if chosen is None or not chosen[1]:
        return 0, None
    deck, votes = chosen
    return len(votes), consensus(deck, votes, room.config.suggestion).agreement


def _played(room: Room) -> int:
    """The rounds the room played (the open one counts once it has a vote or was revealed)."""
    return room.round if room.votes or room.revealed else room.round - 1


def session_summary(session: RefinementSession, rooms: Mapping[RoomId, Room]) -> SessionSummary:
    """The record of `session`, its issues' figures read from `rooms` (those that exist)."""
    records = []
    for entry in session.queue:
        room = rooms.get(entry.room_id) if entry.room_id is not None else None
        estimate = room.estimate if room is not None else None
        votes, agreement = _round_figures(room) if room is not None else (0, None)
        records.append(
            IssueRecord(
                issue_key=entry.issue_key,
                state=entry.state.value,
                estimate=estimate.value.label if estimate is not None else None,
                points=estimate.value.number if estimate is not None else None,
                written=estimate is not None and estimate.written,
                votes=votes,
                agreement=agreement,
                rounds=_played(room) if room is not None else 0,
            )
        )
    estimated = [r for r in records if r.state == IssueState.ESTIMATED.value]
    return SessionSummary(
        id=session.id,
        issues=tuple(records),
        estimated=len(estimated),
        skipped=sum(r.state == IssueState.SKIPPED.value for r in records),
        points=sum(r.points for r in estimated if r.points is not None),
    )


CSV_COLUMNS = ("issueKey", "state", "estimate", "points", "written", "votes", "agreement", "rounds")
"""The columns of the summary as CSV (keys and numbers only)."""


def _cell(text: str) -> str:
    """Text a spreadsheet would not take for a formula (OWASP's CSV injection rule)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary_rows(summary: SessionSummary) -> list[list[str]]:
    """The summary as CSV rows under `CSV_COLUMNS`: empty cells for what is not there."""

    def number(value: float | None, digits: int = 2) -> str:
        if value is None:
            return ""
        rounded = round(value, digits)
        return str(int(rounded)) if float(rounded).is_integer() else str(rounded)

    return [
        [
            r.issue_key.value,
            r.state,
            _cell(r.estimate or ""),
            number(r.points),
            "yes" if r.written else "no",
            str(r.votes),
            number(r.agreement),
            str(r.rounds),
        ]
        for r in summary.issues
    ]
