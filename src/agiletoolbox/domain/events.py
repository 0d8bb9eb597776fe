"""Domain events: what happened to a room, recorded by the aggregate, published after commit.

Events name people by account id only and never carry a card: the room's version says
which state to read, and the view function decides who may see what.
"""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey


@frozen
class RoomEvent:
    """Something changed in a room; `version` is the room's version after the change."""

    tenant: TenantKey
    room_id: RoomId
    version: int
    at: datetime


@frozen
class RoomOpened(RoomEvent):
    """A room was created for an issue."""

    issue_key: IssueKey
    owner: AccountId


@frozen
class ParticipantJoined(RoomEvent):
    """Someone joined the room (as voter or observer)."""

    account_id: AccountId
    role: str


@frozen
class RoleChanged(RoomEvent):
    """A participant switched between voter and observer."""

    account_id: AccountId
    role: str


@frozen
class ParticipantLeft(RoomEvent):
    """Someone left the room."""

    account_id: AccountId


@frozen
class PresenceChanged(RoomEvent):
    """A participant came online or went offline."""

    account_id: AccountId
    online: bool


@frozen
class VoteCast(RoomEvent):
    """A voter picked or changed a card (the card itself stays in the room)."""

    account_id: AccountId


@frozen
class VoteWithdrawn(RoomEvent):
    """A vote was taken back (by its voter, or because its voter left)."""

    account_id: AccountId


@frozen
class VotesRevealed(RoomEvent):
    """The round's votes were revealed, by the owner or automatically."""

    round: int
    automatic: bool


@frozen
class TimerChanged(RoomEvent):
    """The owner started, extended or stopped the round's timer, or it ran out."""

    round: int
    running: bool


@frozen
class RoundReset(RoomEvent):
    """A new round started; the finished one went to history."""

    round: int


@frozen
class ControlTaken(RoomEvent):
    """A participant became the owner while the owner was away."""

    account_id: AccountId
    previous_owner: AccountId | None


@frozen
class EstimateAccepted(RoomEvent):
    """The owner accepted an estimate for the issue."""

    round: int


@frozen
class EstimateWritten(RoomEvent):
    """Jira confirmed that it holds the accepted estimate."""

    round: int


@frozen
class EstimateCommented(RoomEvent):
    """The estimate's Jira comment was taken on by a process, written, or failed."""

    round: int
    state: str


@frozen
class RoomConfigured(RoomEvent):
    """The owner changed the room's configuration."""


@frozen
class AccountErased(RoomEvent):
    """Every trace of an account was erased from the room."""


@frozen
class RoomRemoved(RoomEvent):
    """The room and everything in it is to be deleted."""
