"""What one person may see of a room.

This is where the product keeps its promise of secret votes: before reveal, no view
carries another voter's card. Every view the server sends is made by `view_of`.
"""

from __future__ import annotations

from collections.abc import Iterable

from attrs import evolve, frozen

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


def _round_view(record: RoundRecord, viewer: AccountId | None) -> RoundView:
    """The round as `viewer` sees it; with no viewer, as someone who did not vote."""
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
    return views_of(room, (viewer,))[viewer]


def views_of(room: Room, viewers: Iterable[AccountId]) -> dict[AccountId, RoomView]:
    """Each viewer's view of the room, as `view_of` makes it.

    What every view shows alike is made once: the ordered participants with the cards
    anyone may see, the results, the history. A viewer's own cards are then put into
    their copy, so a change costs little more for eight viewers than for one.
    """
    cards = room.config.cards
    ordered = sorted(room.participants.values(), key=lambda p: (p.joined_at, p.account_id.value))
    seat = {p.account_id: n for n, p in enumerate(ordered)}
    shown = room.votes if room.revealed else {}
    anyone = tuple(
        ParticipantView(
            account_id=p.account_id,
            role=p.role,
            online=p.online,
            voted=p.account_id in room.votes,
            card=shown.get(p.account_id),
        )
        for p in ordered
    )
    history = tuple(_round_view(record, None) for record in room.history)
    hidden = [n for n, record in enumerate(room.history) if not record.revealed]
    results = consensus(cards, room.votes) if room.revealed else None

    def own(viewer: AccountId) -> tuple[tuple[ParticipantView, ...], tuple[RoundView, ...]]:
        participants = anyone
        n = seat.get(viewer)
        if not room.revealed and n is not None and viewer in room.votes:
            mine = evolve(anyone[n], card=room.votes[viewer])
            participants = (*anyone[:n], mine, *anyone[n + 1 :])
        rounds = history
        for index in hidden:
            record = room.history[index]
            if any(who == viewer for who, _ in record.votes):
                rounds = (*rounds[:index], _round_view(record, viewer), *rounds[index + 1 :])
        return participants, rounds

    views: dict[AccountId, RoomView] = {}
    for viewer in viewers:
        participants, rounds = own(viewer)
        views[viewer] = RoomView(
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
            results=results,
            estimate=room.estimate,
            history=rounds,
            viewer=viewer,
        )
    return views
