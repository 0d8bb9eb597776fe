"""What one person may see of a room.

This is where the product keeps its promise of secret votes: before reveal, no view
carries another voter's card. Every view the server sends is made by `view_of`.
"""

from __future__ import annotations

from attrs import frozen

from agiletoolbox.domain.config import Role
from agiletoolbox.domain.consensus import Consensus, consensus
from agiletoolbox.domain.deck import Deck
from agiletoolbox.domain.estimate import Estimate
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, RoomId
from agiletoolbox.domain.room import Room, RoundRecord


@frozen
class ParticipantView:
    """A participant as the viewer sees them; `card` is None unless the viewer may see it."""

    account_id: AccountId
    role: Role
    online: bool
    voted: bool
    card: str | None


@frozen
class RoundView:
    """A finished round as the viewer sees it."""

    number: int
    votes: tuple[tuple[AccountId, str | None], ...]
    revealed: bool
    results: Consensus | None
    estimate: str | None


@frozen
class RoomView:
    """A room as one viewer may see it."""

    id: RoomId
    issue_key: IssueKey
    version: int
    state: str
    owner: AccountId | None
    owner_present: bool
    deck: Deck
    field_id: FieldId | None
    question_card: bool
    offline_voting: bool
    auto_reveal: bool
    allow_take_control: bool
    persistent: bool
    value_map: tuple[tuple[str, float], ...]
    round: int
    participants: tuple[ParticipantView, ...]
    results: Consensus | None
    estimate: Estimate | None
    history: tuple[RoundView, ...]
    viewer: AccountId


def _round_view(record: RoundRecord, viewer: AccountId) -> RoundView:
    votes = tuple(
        (who, label if record.revealed or who == viewer else None) for who, label in record.votes
    )
    return RoundView(
        number=record.number,
        votes=votes,
        revealed=record.revealed,
        results=consensus(record.deck, dict(record.votes)) if record.revealed else None,
        estimate=record.estimate.label if record.estimate else None,
    )


def view_of(room: Room, viewer: AccountId) -> RoomView:
    """The room as `viewer` may see it: other voters' cards stay hidden until reveal."""
    cards = room.config.cards
    participants = tuple(
        ParticipantView(
            account_id=p.account_id,
            role=p.role,
            online=p.online,
            voted=p.account_id in room.votes,
            card=room.votes.get(p.account_id) if room.revealed or p.account_id == viewer else None,
        )
        for p in sorted(room.participants.values(), key=lambda p: (p.joined_at, p.account_id))
    )
    return RoomView(
        id=room.id,
        issue_key=room.issue_key,
        version=room.version,
        state=room.state,
        owner=room.owner,
        owner_present=room.owner_present,
        deck=cards,
        field_id=room.config.field_id,
        question_card=room.config.question_card,
        offline_voting=room.config.offline_voting,
        auto_reveal=room.config.auto_reveal,
        allow_take_control=room.config.allow_take_control,
        persistent=room.config.persistent,
        value_map=room.config.value_map,
        round=room.round,
        participants=participants,
        results=consensus(cards, room.votes) if room.revealed else None,
        estimate=room.estimate,
        history=tuple(_round_view(record, viewer) for record in room.history),
        viewer=viewer,
    )
