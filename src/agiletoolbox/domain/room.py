"""The room: one per tenant and issue, where a team estimates that issue.

The aggregate owns every rule of play. Each method checks the rules, changes the room,
adds one to `version` and records events; a call that changes nothing records nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal, TypeVar

from attrs import define, evolve, field, fields, frozen

from agiletoolbox.domain.config import Participant, Role, RoomConfig
from agiletoolbox.domain.consensus import Consensus, consensus
from agiletoolbox.domain.deck import Deck
from agiletoolbox.domain.errors import InvalidState, InvalidValue, NotFound, NotPermitted
from agiletoolbox.domain.estimate import (
    COMMENT_CLAIM,
    CommentState,
    Estimate,
    EstimateValue,
    FieldSpec,
    resolve_estimate,
)
from agiletoolbox.domain.events import (
    AccountErased,
    ControlTaken,
    EstimateAccepted,
    EstimateCommented,
    EstimateWritten,
    ParticipantJoined,
    ParticipantLeft,
    PresenceChanged,
    RoleChanged,
    RoomConfigured,
    RoomEvent,
    RoomOpened,
    RoomRemoved,
    RoundReset,
    TimerChanged,
    VoteCast,
    VotesRevealed,
    VoteWithdrawn,
)
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.timing import require_aware

RoomState = Literal["voting", "revealed", "estimated"]

MIN_TIMER_SECONDS = 10
MAX_TIMER_SECONDS = 60 * 60
"""A round's timer runs from 10 seconds to an hour in all (extensions included)."""


@frozen
class RoundTimer:
    """A countdown for the open round, kept by the server: everyone sees the same deadline."""

    round: int
    started_at: datetime
    ends_at: datetime

    def ended(self, now: datetime) -> bool:
        """Whether the time is up at `now`."""
        return now >= self.ends_at


@frozen
class RoundRecord:
    """A finished round, kept in the room's history for the room's life."""

    number: int
    deck: Deck
    votes: tuple[tuple[AccountId, str], ...]
    revealed: bool
    started_at: datetime
    ended_at: datetime
    estimate: EstimateValue | None = None

    @cached_property
    def results(self) -> Consensus | None:
        """The round's results, when it was revealed. A record never changes, so they are
        worked out once, when first asked for (exact arithmetic is not cheap)."""
        return consensus(self.deck, dict(self.votes)) if self.revealed else None


@define
class Room:
    """A planning-poker room for one issue of one tenant."""

    tenant: TenantKey
    id: RoomId
    issue_key: IssueKey
    owner: AccountId | None
    config: RoomConfig
    created_at: datetime
    updated_at: datetime
    participants: Mapping[AccountId, Participant] = field(factory=dict)
    round: int = 1
    round_started_at: datetime | None = None
    votes: Mapping[AccountId, str] = field(factory=dict)
    revealed: bool = False
    history: tuple[RoundRecord, ...] = ()
    estimate: Estimate | None = None
    timer: RoundTimer | None = None
    version: int = 1
    removed: bool = False
    pending_events: list[RoomEvent] = field(factory=list, eq=False, repr=False)

    @classmethod
    def open(
        cls,
        tenant: TenantKey,
        room_id: RoomId,
        issue_key: IssueKey,
        owner: AccountId,
        config: RoomConfig,
        now: datetime,
    ) -> Room:
        """A new room; the person who opens it owns it and joins it as a voter (offline
        until a live socket of theirs shows up: presence follows sockets only)."""
        require_aware(now)
        room = cls(
            tenant=tenant,
            id=room_id,
            issue_key=issue_key,
            owner=owner,
            config=config,
            created_at=now,
            updated_at=now,
            participants={owner: Participant(owner, Role.VOTER, online=False, joined_at=now)},
            round_started_at=now,
        )
        room.pending_events.append(
            RoomOpened(tenant, room_id, room.version, now, issue_key=issue_key, owner=owner)
        )
        return room

    def copy(self) -> Room:
        """A copy to change without touching this room; recorded events stay with the
        original. What a room holds is never changed in place (a change replaces its
        participants, votes or history whole), so the copy shares it all."""
        room = Room(*_FIELD_VALUES(self))  # `evolve` costs three times as much
        room.pending_events = []
        return room

    # -- reading -----------------------------------------------------------------------

    @property
    def state(self) -> RoomState:
        """`voting`, `revealed`, or `estimated` (an estimate was accepted for this round)."""
        if not self.revealed:
            return "voting"
        if self.estimate is not None and self.estimate.round == self.round:
            return "estimated"
        return "revealed"

    @property
    def owner_present(self) -> bool:
        """Whether the owner is in the room and online."""
        if self.owner is None:
            return False
        participant = self.participants.get(self.owner)
        return participant is not None and participant.online

    def mentions(self, account: AccountId) -> bool:
        """Whether the room keeps the account id anywhere (what erasure must remove)."""
        return (
            account in self.participants
            or account in self.votes
            or self.owner == account
            or (self.estimate is not None and self.estimate.accepted_by == account)
            or any(who == account for record in self.history for who, _ in record.votes)
        )

    def voters(self) -> list[Participant]:
        """The participants who vote."""
        return [p for p in self.participants.values() if p.role is Role.VOTER]

    def revealed_round(self, number: int | None = None) -> tuple[Deck, dict[AccountId, str]] | None:
        """The deck and votes of revealed round `number` (None: the last revealed one),
        open or finished; None when that round was not revealed."""
        if self.revealed and number in (None, self.round):
            return self.config.cards, dict(self.votes)
        for record in reversed(self.history):
            if record.revealed and number in (None, record.number):
                return record.deck, dict(record.votes)
        return None

    # -- membership and presence ---------------------------------------------------------

    def join(self, account: AccountId, role: Role, now: datetime) -> None:
        """Join as voter or observer; joining again with the other role switches role.
        A newcomer is offline until a live socket of theirs shows up (`set_presence`)."""
        self._live(now)
        current = self.participants.get(account)
        if current is None:
            newcomer = Participant(account, role, online=False, joined_at=now)
            self.participants = {**self.participants, account: newcomer}
            self._changed(now, ParticipantJoined, account_id=account, role=role.value)
            return
        if current.role is role:
            return
        self.participants = {**self.participants, account: evolve(current, role=role)}
        if role is Role.OBSERVER and not self.revealed:
            self.votes = _without(self.votes, account)
        self._changed(now, RoleChanged, account_id=account, role=role.value)
        self._auto_reveal(now)

    def leave(self, account: AccountId, now: datetime) -> None:
        """Leave the room; the current round's vote leaves along, revealed or not (so the
        results, the cards shown and the history always count the same votes). The owner
        stays the owner."""
        self._live(now)
        if account not in self.participants:
            return
        self.participants = _without(self.participants, account)
        self.votes = _without(self.votes, account)
        self._changed(now, ParticipantLeft, account_id=account)
        self._auto_reveal(now)

    def set_presence(self, account: AccountId, online: bool, now: datetime) -> None:
        """A participant came online or went offline.

        Without offline voting, a voter who goes offline takes an open round's vote along.
        """
        self._live(now)
        current = self.participants.get(account)
        if current is None or current.online is online:
            return
        self.participants = {**self.participants, account: evolve(current, online=online)}
        if not online and not self.config.offline_voting and not self.revealed:
            self.votes = _without(self.votes, account)
        self._changed(now, PresenceChanged, account_id=account, online=online)
        self._auto_reveal(now)

    # -- voting --------------------------------------------------------------------------

    def vote(self, account: AccountId, label: str, now: datetime) -> None:
        """Hold this card; holding it already changes nothing (a repeat is harmless)."""
        self._live(now)
        participant = self.participants.get(account)
        if participant is None:
            raise NotPermitted("join the room before voting")
        if participant.role is not Role.VOTER:
            raise NotPermitted("observers do not vote")
        if self.revealed:
            raise InvalidState("the votes are revealed; the owner starts a new round to vote again")
        self.config.cards.card(label)
        if self.votes.get(account) == label:
            return
        self.votes = {**self.votes, account: label}
        self._changed(now, VoteCast, account_id=account)
        self._auto_reveal(now)

    def withdraw(self, account: AccountId, now: datetime) -> None:
        """Take your vote back while the round is open."""
        self._live(now)
        if account not in self.votes:
            return
        if self.revealed:
            raise InvalidState("the votes are revealed and can no longer be withdrawn")
        self.votes = _without(self.votes, account)
        self._changed(now, VoteWithdrawn, account_id=account)

    def reveal(self, actor: AccountId, now: datetime, round_: int | None = None) -> None:
        """Show every vote of the round (the owner only, with at least one vote).

        With `round_`, the intent is "reveal round `round_`": once that round is revealed
        or over, a repeat changes nothing.
        """
        self._live(now)
        self._require_owner(actor, "reveal the votes")
        if round_ is not None and (round_ != self.round or self.revealed):
            return
        if self.revealed:
            raise InvalidState("the votes are already revealed")
        if not self.votes:
            raise InvalidState("nobody has voted yet")
        self.revealed = True
        self.timer = None
        self._changed(now, VotesRevealed, round=self.round, automatic=False)

    def reset(self, actor: AccountId, now: datetime, round_: int | None = None) -> None:
        """Start a new round; the finished one goes to the room's history.

        With `round_`, the intent is "end round `round_`": once that round is over, a
        repeat changes nothing (a double click never skips a round).
        """
        self._live(now)
        self._require_owner(actor, "start a new round")
        if round_ is not None and round_ != self.round:
            return
        estimate = self.estimate
        finished = RoundRecord(
            number=self.round,
            deck=self.config.cards,
            votes=tuple(sorted(self.votes.items())),
            revealed=self.revealed,
            started_at=self.round_started_at or self.created_at,
            ended_at=now,
            estimate=estimate.value if estimate and estimate.round == self.round else None,
        )
        self.history = (*self.history, finished)
        self.round += 1
        self.round_started_at = now
        self.votes = {}
        self.revealed = False
        self.timer = None
        self._changed(now, RoundReset, round=finished.number)

    # -- the round's timer ---------------------------------------------------------------

    def start_timer(self, actor: AccountId, seconds: int, now: datetime) -> None:
        """Start (or restart) a countdown of `seconds` for the open round (the owner only)."""
        self._live(now)
        self._require_owner(actor, "start the timer")
        if self.revealed:
            raise InvalidState("the votes are revealed; start a new round to time it")
        _check_seconds(seconds)
        self.timer = RoundTimer(self.round, now, now + timedelta(seconds=seconds))
        self._changed(now, TimerChanged, round=self.round, running=True)

    def extend_timer(self, actor: AccountId, seconds: int, now: datetime) -> None:
        """Give the running timer `seconds` more (the owner only; an hour in all at most)."""
        self._live(now)
        self._require_owner(actor, "extend the timer")
        timer = self.timer
        if timer is None or timer.ended(now):
            raise InvalidState("no timer is running")
        ends_at = timer.ends_at + timedelta(seconds=seconds)
        if seconds <= 0 or ends_at - timer.started_at > timedelta(seconds=MAX_TIMER_SECONDS):
            raise InvalidValue(f"a timer runs for an hour at most; add 1 to {MAX_TIMER_SECONDS}")
        self.timer = evolve(timer, ends_at=ends_at)
        self._changed(now, TimerChanged, round=self.round, running=True)

    def stop_timer(self, actor: AccountId, now: datetime) -> None:
        """Stop the timer (the owner only); a timer already gone changes nothing."""
        self._live(now)
        self._require_owner(actor, "stop the timer")
        if self.timer is None:
            return
        self.timer = None
        self._changed(now, TimerChanged, round=self.round, running=False)

    def time_up(self, round_: int, now: datetime) -> None:
        """The timer of round `round_` ran out (the server's clock says so): with the rule
        "reveal when the timer ends" and a vote, the votes are revealed; the timer goes.
        Anything else (an early call, another round, a stopped timer) changes nothing."""
        self._live(now)
        timer = self.timer
        if timer is None or timer.round != round_ or round_ != self.round or not timer.ended(now):
            return
        self.timer = None
        if self.config.reveal_on_timer and self.votes and not self.revealed:
            self.revealed = True
            self._changed(now, TimerChanged, round=self.round, running=False)
            self.pending_events.append(
                VotesRevealed(
                    self.tenant, self.id, self.version, now, round=self.round, automatic=True
                )
            )
            return
        self._changed(now, TimerChanged, round=self.round, running=False)

    # -- ownership -----------------------------------------------------------------------

    def take_control(self, actor: AccountId, now: datetime) -> None:
        """Become the owner while the owner is away, when the room allows it."""
        self._live(now)
        if actor not in self.participants:
            raise NotPermitted("join the room before taking control")
        if actor == self.owner:
            return
        # A room left without an owner (its owner's account was erased) must stay usable.
        if not self.config.allow_take_control and self.owner is not None:
            raise NotPermitted("this room does not allow taking control")
        if self.owner_present:
            raise InvalidState("the owner is in the room")
        previous, self.owner = self.owner, actor
        self._changed(now, ControlTaken, account_id=actor, previous_owner=previous)

    def configure(self, actor: AccountId, config: RoomConfig, now: datetime) -> None:
        """Change how the room plays; votes for cards the new deck lacks are dropped."""
        self._live(now)
        self._require_owner(actor, "configure the room")
        if config == self.config:
            return
        if self.revealed and config.cards != self.config.cards:
            raise InvalidState("start a new round before changing the deck")
        self.config = config
        cards = config.cards
        self.votes = {who: label for who, label in self.votes.items() if cards.has(label)}
        self._changed(now, RoomConfigured)
        self._auto_reveal(now)

    # -- estimate ------------------------------------------------------------------------

    def accept_estimate(
        self, actor: AccountId, value: str, target: FieldSpec, now: datetime
    ) -> Estimate:
        """Accept the team's estimate for the revealed round, checked against deck and field."""
        self._live(now)
        self._require_owner(actor, "accept the estimate")
        if not self.revealed:
            raise InvalidState("reveal the votes before accepting an estimate")
        if self.config.field_id is None:
            raise InvalidState("choose the Jira field for estimates first")
        if target.id != self.config.field_id:
            raise InvalidValue("the field does not match the room's field")
        resolved = resolve_estimate(value, self.config.cards, self.config.numbers, target)
        estimate = Estimate(resolved, target.id, self.round, actor, now)
        earlier = self.estimate
        if earlier is not None and earlier.repeats(estimate):
            # The same estimate again (a retry, another tab): its comment stays where it is.
            estimate = evolve(estimate, comment=earlier.comment, comment_at=earlier.comment_at)
        self.estimate = estimate
        self._changed(now, EstimateAccepted, round=self.round)
        return self.estimate

    def mark_estimate_written(self, estimate: Estimate, now: datetime) -> None:
        """Jira confirmed it holds `estimate`; ignored if a newer one was accepted since."""
        self._live(now)
        current = self.estimate
        if current is None or current.written or evolve(current, written=False) != estimate:
            return
        self.estimate = evolve(current, written=True)
        self._changed(now, EstimateWritten, round=current.round)

    def claim_comment(self, estimate: Estimate, now: datetime) -> bool:
        """Take on the Jira comment of `estimate` (Jira holds it, and it is still the
        room's): True when this call took it on; False when it is written, or another
        process took it on less than `COMMENT_CLAIM` ago."""
        self._live(now)
        current = self.estimate
        if current is None or not current.written or not current.same_as(estimate):
            return False
        if current.comment is CommentState.WRITTEN:
            return False
        claimed = current.comment_at if current.comment is CommentState.PENDING else None
        if claimed is not None and now - claimed < COMMENT_CLAIM:
            return False
        self.estimate = evolve(current, comment=CommentState.PENDING, comment_at=now)
        self._changed(now, EstimateCommented, round=current.round, state="pending")
        return True

    def comment_settled(self, estimate: Estimate, written: bool, now: datetime) -> None:
        """The comment taken on for `estimate` is in Jira (`written`) or failed."""
        self._live(now)
        current = self.estimate
        if current is None or not current.same_as(estimate):
            return
        if current.comment is not CommentState.PENDING:
            return
        state = CommentState.WRITTEN if written else CommentState.FAILED
        self.estimate = evolve(current, comment=state)
        self._changed(now, EstimateCommented, round=current.round, state=state.value)

    # -- removal and erasure ---------------------------------------------------------------

    def remove(self, actor: AccountId, now: datetime) -> None:
        """Mark the room for deletion with everything in it (the owner only)."""
        self._live(now)
        self._require_owner(actor, "remove the room")
        self.removed = True
        self._changed(now, RoomRemoved)

    def close(self, now: datetime) -> None:
        """Mark the room for deletion because the refinement session that opened it was
        removed (whoever owns the room now: the session's owner decided for it)."""
        self._live(now)
        self.removed = True
        self._changed(now, RoomRemoved)

    def erase_account(self, account: AccountId, now: datetime) -> bool:
        """Erase every trace of an account; an owner's room passes on or stays ownerless."""
        self._live(now)
        if not self.mentions(account):
            return False
        self.participants = _without(self.participants, account)
        self.votes = _without(self.votes, account)
        self.history = tuple(
            evolve(r, votes=tuple(v for v in r.votes if v[0] != account)) for r in self.history
        )
        if self.estimate is not None and self.estimate.accepted_by == account:
            self.estimate = evolve(self.estimate, accepted_by=None)
        if self.owner == account:
            self.owner = self._successor()
        self._changed(now, AccountErased)
        self._auto_reveal(now)
        return True

    # -- internals -----------------------------------------------------------------------

    def _successor(self) -> AccountId | None:
        """The next owner: the earliest online voter, else the earliest participant."""
        ranked = sorted(
            self.participants.values(),
            key=lambda p: (not (p.online and p.role is Role.VOTER), p.joined_at, p.account_id),
        )
        return ranked[0].account_id if ranked else None

    def _auto_reveal(self, now: datetime) -> None:
        """Reveal inside the same change once every online voter has voted."""
        if not self.config.auto_reveal or self.revealed or not self.votes:
            return
        online_voters = [p.account_id for p in self.voters() if p.online]
        if online_voters and all(who in self.votes for who in online_voters):
            self.revealed = True
            self.timer = None
            self.pending_events.append(
                VotesRevealed(
                    self.tenant, self.id, self.version, now, round=self.round, automatic=True
                )
            )

    def _require_owner(self, actor: AccountId, what: str) -> None:
        if actor != self.owner:
            raise NotPermitted(f"only the room's owner may {what}")

    def _live(self, now: datetime) -> None:
        require_aware(now)
        if self.removed:
            raise NotFound("the room was removed")

    def _changed(self, now: datetime, kind: type[RoomEvent], **details: Any) -> None:
        self.version += 1
        self.updated_at = max(self.updated_at, now)
        self.pending_events.append(kind(self.tenant, self.id, self.version, now, **details))

    def drain_events(self) -> list[RoomEvent]:
        """The events recorded since the last drain, oldest first."""
        events, self.pending_events = self.pending_events, []
        return events


K = TypeVar("K")
V = TypeVar("V")


def _without(mapping: Mapping[K, V], key: K) -> Mapping[K, V]:
    """`mapping` without `key`: itself when it lacks the key, else a new dict."""
    if key not in mapping:
        return mapping
    return {k: v for k, v in mapping.items() if k != key}


_FIELD_VALUES = operator.attrgetter(*(f.name for f in fields(Room)))
"""A room's field values, in the order `Room(...)` takes them."""


def _check_seconds(seconds: int) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise InvalidValue("a timer's length is a whole number of seconds")
    if not MIN_TIMER_SECONDS <= seconds <= MAX_TIMER_SECONDS:
        raise InvalidValue(
            f"a timer runs from {MIN_TIMER_SECONDS} seconds to an hour "
            f"({MIN_TIMER_SECONDS} to {MAX_TIMER_SECONDS} seconds)"
        )
