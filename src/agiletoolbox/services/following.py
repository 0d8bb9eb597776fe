"""Sessions follow their rooms: a room change that reveals the votes, starts a new round
or writes the estimate moves the issue's state in every session whose queue holds the
room, in the room change's own unit of work (`RoomChanges` calls this). Votes and every
other change leave the sessions alone, so the vote path never reads a session.

While an async session is being estimated its rooms only take votes: a reveal or a new
round there (by hand, by auto-reveal or by a timer) is refused, and the whole room change
with it, until the owner reviews the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agiletoolbox.domain.errors import InvalidState
from agiletoolbox.domain.events import EstimateWritten, RoomEvent, RoundReset, VotesRevealed
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import IssueState, SessionChanged
from agiletoolbox.ports import UnitOfWork

_PROGRESS: dict[type[RoomEvent], IssueState] = {
    VotesRevealed: IssueState.REVEALED,
    RoundReset: IssueState.VOTING,
    EstimateWritten: IssueState.ESTIMATED,
}


def progress_of(events: Sequence[RoomEvent]) -> IssueState | None:
    """Where a change moved the room's issue, as a session's queue counts it: revealed, a
    new round, an estimate written (the last of them); None for any other change (a vote)."""
    state = None
    for event in events:
        state = _PROGRESS.get(type(event), state)
    return state


async def follow(
    uow: UnitOfWork, room: Room, state: IssueState, now: datetime
) -> list[SessionChanged]:
    """The sessions that hold the room follow its progress, in the room change's own
    transaction (a session changed meanwhile makes the whole change try again)."""
    changes: list[SessionChanged] = []
    for session_id in await uow.sessions.following(room.tenant, room.id):
        session = await uow.sessions.get(room.tenant, session_id)
        if session.estimating:
            raise InvalidState("the votes stay hidden until the owner reviews the async session")
        session.issue_progressed(room.issue_key, state, now)
        await uow.sessions.save(session)
        changes.extend(session.drain_events())
    return changes
