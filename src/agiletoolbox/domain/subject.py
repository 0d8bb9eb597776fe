"""What the product stores about one person: the answer to a data-subject request."""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from agiletoolbox.domain.config import Role
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room


@frozen
class RoomTrace:
    """Everything a room holds about one account."""

    tenant: TenantKey
    room_id: RoomId
    issue_key: IssueKey
    owner: bool
    role: Role | None
    joined_at: datetime | None
    vote: str | None
    history_votes: tuple[tuple[int, str], ...]
    accepted_estimate_in_round: int | None


def trace_of(room: Room, account: AccountId) -> RoomTrace | None:
    """What `room` holds about `account`, or None when it holds nothing."""
    if not room.mentions(account):
        return None
    participant = room.participants.get(account)
    history = tuple(
        (record.number, label)
        for record in room.history
        for who, label in record.votes
        if who == account
    )
    accepted = (
        room.estimate.round
        if room.estimate is not None and room.estimate.accepted_by == account
        else None
    )
    vote = room.votes.get(account)
    return RoomTrace(
        tenant=room.tenant,
        room_id=room.id,
        issue_key=room.issue_key,
        owner=room.owner == account,
        role=participant.role if participant else None,
        joined_at=participant.joined_at if participant else None,
        vote=vote,
        history_votes=history,
        accepted_estimate_in_round=accepted,
    )
