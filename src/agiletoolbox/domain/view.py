"""What one person may see of a room.

This is where the product keeps its promise of secret votes: before reveal, no view
carries another voter's card. A view is made of two parts, both made here: the public
view (`public_view`), which carries no card anyone could not see, and the viewer's own
cards (`own_cards`), which only that viewer is shown. `view_of` puts them together.
The classes are shaped like what the API sends, so the edge only renames their fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from attrs import evolve, frozen

from agiletoolbox.domain.config import Role
from agiletoolbox.domain.consensus import Consensus, SuggestionRule, consensus
from agiletoolbox.domain.deck import Deck
from agiletoolbox.domain.estimate import Estimate
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, RoomId
from agiletoolbox.domain.room import Room, RoomState, RoundRecord, RoundTimer


@frozen
class ParticipantView:
    """A participant as the viewer sees them; `card` is None unless the viewer may see it."""

    account_id: AccountId
    role: Role
    online: bool
    voted: bool
    card: str | None


@frozen
class VoteView:
    """A vote of a finished round; `card` is None unless the viewer may see it."""

    account_id: AccountId
    card: str | None


@frozen
class RoundView:
    """A finished round as the viewer sees it."""

    number: int
    revealed: bool
    votes: tuple[VoteView, ...]
    results: Consensus | None
    estimate: str | None


@frozen
class EstimateView:
    """The estimate accepted in the room, and whether Jira holds it."""

    value: str
    number: float | None
    field_id: FieldId
    round: int
    accepted_by: AccountId | None
    accepted_at: datetime
    written: bool
    comment: Literal["pending", "written", "failed"] | None
    """Where the app's Jira comment on it stands, when the room comments on estimates."""


@frozen
class RoomView:
    """A room as one viewer may see it (`viewer` None: the public view)."""

    id: RoomId
    issue_key: IssueKey
    version: int
    state: RoomState
    owner: AccountId | None
    owner_present: bool
    viewer: AccountId | None
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
    round: int
    timer: RoundTimer | None
    """The open round's countdown (start and deadline on the server's clock), if any."""
    participants: tuple[ParticipantView, ...]
    results: Consensus | None
    estimate: EstimateView | None
    history: tuple[RoundView, ...]


@frozen
class OwnCards:
    """The cards only the viewer may see in a view: their own, in rounds not revealed."""

    viewer: AccountId
    current: str | None
    """The viewer's card in the open round, while it is not revealed."""
    rounds: tuple[tuple[int, str], ...]
    """(round number, card) of the viewer's votes in finished rounds never revealed."""


def _estimate(estimate: Estimate | None) -> EstimateView | None:
    if estimate is None:
        return None
    return EstimateView(
        value=estimate.value.label,
        number=estimate.value.number,
        field_id=estimate.field_id,
        round=estimate.round,
        accepted_by=estimate.accepted_by,
        accepted_at=estimate.accepted_at,
        written=estimate.written,
        comment=None if estimate.comment is None else estimate.comment.value,
    )


def _round(record: RoundRecord) -> RoundView:
    """A finished round as anyone sees it: cards only when it was revealed."""
    return RoundView(
        number=record.number,
        revealed=record.revealed,
        votes=tuple(
            VoteView(who, label if record.revealed else None) for who, label in record.votes
        ),
        results=record.results,
        estimate=record.estimate.label if record.estimate else None,
    )


def public_view(
    room: Room, before: tuple[Sequence[RoundRecord], RoomView] | None = None
) -> RoomView:
    """The room as anyone may see it: no card of a round that is not revealed.

    `before` is an earlier history of the room and the public view made of it: the views
    of the finished rounds it shares with this room (equal records: a record never
    changes) are reused, and so are the views of participants that look the same (so a
    vote makes one participant's view anew, and comparing the two views is cheap)."""
    config = room.config
    return RoomView(
        id=room.id,
        issue_key=room.issue_key,
        version=room.version,
        state=room.state,
        owner=room.owner,
        owner_present=room.owner_present,
        viewer=None,
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
        round=room.round,
        timer=room.timer,
        participants=_participants(room, None if before is None else before[1].participants),
        results=consensus(config.cards, room.votes, config.suggestion) if room.revealed else None,
        estimate=_estimate(room.estimate),
        history=_history(room.history, before),
    )


def _participants(
    room: Room, before: tuple[ParticipantView, ...] | None
) -> tuple[ParticipantView, ...]:
    """The participants in the order they joined, each as anyone sees them; a view in
    `before` that looks the same is taken as it is."""
    ordered = sorted(room.participants.values(), key=lambda p: (p.joined_at, p.account_id.value))
    votes = room.votes
    shown = votes if room.revealed else {}
    before = before or ()
    earlier: dict[AccountId, ParticipantView] | None = None
    views = []
    for n, p in enumerate(ordered):
        account = p.account_id
        voted, card = account in votes, shown.get(account) if shown else None
        # Mostly the same people in the same order: looked up by account only when not.
        old = before[n] if n < len(before) else None
        if old is not None and old.account_id is not account and old.account_id != account:
            if earlier is None:
                earlier = {v.account_id: v for v in before}
            old = earlier.get(account)
        if (
            old is None
            or old.role is not p.role
            or old.online is not p.online
            or old.voted is not voted
            or old.card != card
        ):
            old = ParticipantView(account, p.role, p.online, voted, card)
        views.append(old)
    return tuple(views)


def _history(
    records: Sequence[RoundRecord], before: tuple[Sequence[RoundRecord], RoomView] | None
) -> tuple[RoundView, ...]:
    if before is None:
        return tuple(_round(record) for record in records)
    old, views = before[0], before[1].history
    if old is records or (
        len(old) == len(records) and all(a is b for a, b in zip(old, records, strict=True))
    ):
        return views
    # A room read again (in another process, say) holds equal records, not the same ones.
    return tuple(
        views[n] if n < len(old) and (old[n] is record or old[n] == record) else _round(record)
        for n, record in enumerate(records)
    )


def own_cards(room: Room, viewer: AccountId) -> OwnCards:
    """The viewer's own cards that the public view does not show."""
    return OwnCards(
        viewer=viewer,
        current=None if room.revealed else room.votes.get(viewer),
        rounds=tuple(
            (record.number, label)
            for record in room.history
            if not record.revealed
            for who, label in record.votes
            if who == viewer
        ),
    )


def own_cards_of(
    room: Room, before: Mapping[AccountId, OwnCards] | None = None
) -> dict[AccountId, OwnCards]:
    """The own cards of everyone who holds any the public view does not show; those equal
    to their own cards in `before` (an earlier result) are taken from it as they are."""
    hidden = [record for record in room.history if not record.revealed]
    if not hidden:  # the usual case: only the open round's cards may be anyone's own
        if room.revealed:
            return {}
        before = before or {}
        own = {}
        for who, label in room.votes.items():
            was = before.get(who)
            own[who] = (
                was
                if was is not None and was.current == label and not was.rounds
                else OwnCards(who, label, ())
            )
        return own
    holders = set() if room.revealed else set(room.votes)
    for record in hidden:
        holders.update(who for who, _ in record.votes)
    return {who: own_cards(room, who) for who in holders}


def with_own(view: RoomView, own: OwnCards) -> RoomView:
    """The public `view` as `own.viewer` sees it: with their own cards in it."""
    participants = view.participants
    if own.current is not None:
        participants = tuple(
            evolve(p, card=own.current) if p.account_id == own.viewer else p for p in participants
        )
    history = view.history
    if own.rounds:
        mine = dict(own.rounds)
        history = tuple(
            evolve(
                record,
                votes=tuple(
                    evolve(v, card=mine[record.number]) if v.account_id == own.viewer else v
                    for v in record.votes
                ),
            )
            if record.number in mine
            else record
            for record in history
        )
    return evolve(view, viewer=own.viewer, participants=participants, history=history)


def view_of(room: Room, viewer: AccountId) -> RoomView:
    """The room as `viewer` may see it: other voters' cards stay hidden until reveal."""
    return with_own(public_view(room), own_cards(room, viewer))
