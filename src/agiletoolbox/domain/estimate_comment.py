"""The app's Jira comment on a written estimate: what it says, from the room.

Numbers and the field only, never a name: the estimate, how many voted in its round, how
far they agreed, how many rounds it took. `marker` tells one estimate's comment from any
other, so a comment Jira holds already is found and not written twice.
"""

from __future__ import annotations

from attrs import frozen

from agiletoolbox.domain.consensus import consensus
from agiletoolbox.domain.estimate import Estimate
from agiletoolbox.domain.ids import FieldId
from agiletoolbox.domain.room import Room


@frozen
class EstimateComment:
    """What the app's Jira comment on a written estimate says: numbers and the field, no
    names. `marker` (room, round, value) tells this estimate's comment from any other (it
    travels as a comment property, so a comment Jira holds already is found and not
    written twice)."""

    marker: str
    value: str
    field_id: FieldId
    votes: int
    agreement: float | None
    rounds: int


def comment_on(room: Room, estimate: Estimate) -> EstimateComment:
    """The comment on `estimate`, accepted in `room` (its round's votes, revealed)."""
    deck, votes = room.revealed_round(estimate.round) or (room.config.cards, {})
    agreement = None
    if votes:
        result = consensus(deck, votes, room.config.suggestion)
        agreement = result.agreement if result.count else None
    # The same estimate accepted again (a retry, another tab) is the same comment.
    marker = f"{room.id.value}/{estimate.round}/{estimate.value.label}"
    return EstimateComment(
        marker=marker,
        value=estimate.value.label,
        field_id=estimate.field_id,
        votes=len(votes),
        agreement=agreement,
        rounds=estimate.round,
    )
