"""The room as a state machine: any person may try any command at any time.

Hypothesis drives one `Room` through random sequences of commands from a small pool of
people, some of them the owner and most of them not, with a clock that only moves forward.
After every step the machine checks what the product promises: votes stay secret until
reveal (in the live round and in the history), a refused command changes nothing, the
version moves by exactly one per change and each step records exactly one event for it,
the owner is whoever opened the room, took control or inherited it on an erasure, and a
removed room can no longer be used at all.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import asdict, evolve
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from agiletoolbox.domain.config import Participant, Role, RoomConfig
from agiletoolbox.domain.deck import SPECIAL_LABELS, STANDARD_DECKS, Deck
from agiletoolbox.domain.errors import DomainError, InvalidValue, NotFound
from agiletoolbox.domain.estimate import Estimate, EstimateValue, FieldSpec, FieldType
from agiletoolbox.domain.events import (
    AccountErased,
    ControlTaken,
    EstimateAccepted,
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
    VoteCast,
    VotesRevealed,
    VoteWithdrawn,
)
from agiletoolbox.domain.ids import AccountId, CheckedId, FieldId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.view import RoomView, public_view, view_of

TENANT = TenantKey("jira:6f1c2a9e-2b47-4d1a-9a0e-1d2f3c4b5a69")
ROOM_ID = RoomId("k3VZp1q8Xn2LwR7tYb5cHg")
ISSUE = IssueKey("DEMO-42")
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

# Five people whose ids are no substring of one another, so an erased id can be looked for
# in the room's whole text; and one who never takes part (the stranger).
POOL = (
    AccountId("557058:0f3e9d1c-aaaa-4b1e-8c11-3a2b1c0d9e8f"),
    AccountId("5b10a2844c20165700ede21g"),
    AccountId("712020:bd5c1e77-2f0a-4c7b-9d3e-6e5f4a3b2c1d"),
    AccountId("qm:41e1b4a6-03d2-4f62-b7e9-ed0c2b19f2a5:7d1f"),
    AccountId("630ecb2d9a2f1f0bc5e7a1d3"),
)
STRANGER = AccountId("000000:stranger-who-never-joins")

DECKS: tuple[Deck, ...] = (
    *STANDARD_DECKS.values(),
    Deck.custom([("S", 1), ("M", None), ("L", None), ("☕", None)]),
)
FIELD_IDS = (
    FieldId("customfield_10016"),
    FieldId("customfield_10002"),
    FieldId("timeoriginalestimate"),
)
ALL_LABELS = sorted({card.label for deck in DECKS for card in deck.cards} | SPECIAL_LABELS)
# Labels no deck holds, or holds only in some decks, or that are not labels at all.
STRAY_LABELS = ("42", "xs", "0.5", " 5", "5 ", "", "M ", "21 ", "\t", "Pass!", "½½")
ESTIMATE_TEXTS = (*ALL_LABELS, *STRAY_LABELS, "2,5", "3.25", "1000001", "0", "007", "abc")

accounts = st.sampled_from(POOL)
roles = st.sampled_from(Role)
# Who acts: anyone of the pool, or (chosen by the drawn account) a newcomer, a member, a
# voter, someone holding a vote or the owner, so that commands the room refuses most
# people get to succeed often.
whom = st.sampled_from(("anyone", "member", "voter", "owner"))
ROUNDS = st.sampled_from((None, None, 0, 0, -1, 1))
"""The round a reveal or reset names: none (the current), the current, or another."""
# People who join a fresh room right after it opens (through the checked `join` rule).
guest_lists = st.lists(st.tuples(accounts, roles), max_size=4)


@st.composite
def room_configs(draw: st.DrawFn) -> RoomConfig:
    """A valid configuration: a deck, maybe a field, the switches, a label -> number map."""
    deck = draw(st.sampled_from(DECKS))
    mappable = [card.label for card in deck.cards if not card.special and not card.numeric]
    numbers = st.one_of(st.integers(0, 100), st.floats(0, 1_000_000, allow_nan=False))
    value_map = draw(st.dictionaries(st.sampled_from(mappable), numbers)) if mappable else {}
    return RoomConfig(
        deck=deck,
        field_id=draw(st.none() | st.sampled_from(FIELD_IDS)),
        question_card=draw(st.booleans()),
        offline_voting=draw(st.booleans()),
        auto_reveal=draw(st.booleans()),
        allow_take_control=draw(st.booleans()),
        persistent=draw(st.booleans()),
        value_map=tuple(value_map.items()),
    )


SWITCHES = ("question_card", "offline_voting", "auto_reveal", "allow_take_control", "persistent")
config_changes = st.one_of(
    room_configs().map(lambda config: ("replace", config)),
    st.sampled_from(SWITCHES).map(lambda name: ("toggle", name)),
    st.just(("same", None)),
)


def heirs(participants: dict[AccountId, Participant]) -> set[AccountId | None]:
    """Who may inherit a room whose owner is erased (ties on join time go by account id).

    The earliest online voter. Without one, `Room._successor` documents "the earliest
    participant" but ranks online people first, then voters; both readings pass here.
    """

    def earliest(people: list[Participant]) -> AccountId:
        return min(people, key=lambda p: (p.joined_at, p.account_id)).account_id

    everyone = list(participants.values())
    if not everyone:
        return {None}
    online = [p for p in everyone if p.online]
    voters = [p for p in everyone if p.role is Role.VOTER]
    online_voters = [p for p in online if p.role is Role.VOTER]
    if online_voters:
        return {earliest(online_voters)}
    documented = earliest(everyone)
    implemented = earliest(online) if online else earliest(voters or everyone)
    return {documented, implemented}


def every_command(room: Room, who: AccountId, now: datetime) -> list[Callable[[], object]]:
    """Every command of the room, called by `who` with plausible arguments."""
    field_id = room.config.field_id or FIELD_IDS[0]
    estimate = room.estimate or Estimate(EstimateValue("5", 5.0), field_id, room.round, who, now)
    return [
        lambda: room.join(who, Role.VOTER, now),
        lambda: room.join(who, Role.OBSERVER, now),
        lambda: room.leave(who, now),
        lambda: room.set_presence(who, True, now),
        lambda: room.set_presence(who, False, now),
        lambda: room.vote(who, room.config.cards.cards[0].label, now),
        lambda: room.withdraw(who, now),
        lambda: room.reveal(who, now),
        lambda: room.reset(who, now),
        lambda: room.take_control(who, now),
        lambda: room.configure(who, RoomConfig(auto_reveal=not room.config.auto_reveal), now),
        lambda: room.accept_estimate(who, "5", FieldSpec(field_id, FieldType.STRING), now),
        lambda: room.mark_estimate_written(estimate, now),
        lambda: room.remove(who, now),
        lambda: room.erase_account(who, now),
    ]


REFUSED = object()


class RoomMachine(RuleBasedStateMachine):
    """One room, a pool of people and a forward-only clock; the model tracks the promises."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.room: Room
        self.owner: AccountId | None = None
        self.revealed = False
        self.rounds_revealed: list[bool] = []
        self.accepted: list[Estimate] = []
        self.removed = False

    # -- the harness -------------------------------------------------------------------

    @initialize(owner=accounts, config=room_configs(), guests=guest_lists)
    def open_room(
        self, owner: AccountId, config: RoomConfig, guests: list[tuple[AccountId, Role]]
    ) -> None:
        self.room = Room.open(TENANT, ROOM_ID, ISSUE, owner, config, self.now)
        self.owner = owner
        self.revealed = False
        self.rounds_revealed = []
        self.accepted = []
        self.removed = False
        assert self.room.version == 1
        assert self.room.drain_events() == [
            RoomOpened(TENANT, ROOM_ID, 1, self.now, issue_key=ISSUE, owner=owner)
        ]
        for guest, role in guests:
            self.join(guest, "anyone", role)

    def call(
        self, command: Callable[[], Any], *kinds: type[RoomEvent], auto_reveals: bool = False
    ) -> Any:
        """Run a command; check refusal, no-op and change as the room promises them.

        `kinds` are the events the command may record; `auto_reveals` says that the change
        may complete the votes and so must reveal them when the room reveals automatically.
        Returns REFUSED when the room refused the command, else the command's result.
        """
        room = self.room
        before = copy.deepcopy(room)
        # A copy shares the room's collections: no change may alter them in place.
        shared = room.copy()
        refusal: DomainError | None = None
        try:
            result = command()
        except DomainError as error:
            refusal = error
        assert shared == before, "a command changed a collection a copy shares"
        if refusal is not None:
            assert room == before, "a refused command changed the room"
            assert room.version == before.version
            assert room.drain_events() == [], "a refused command recorded events"
            assert isinstance(refusal, NotFound) == self.removed, refusal
            return REFUSED
        assert not self.removed, "a removed room accepted a command"
        events = room.drain_events()
        if not events:
            assert room.version == before.version, "the version moved without an event"
            assert room == before, "a command that recorded nothing changed the room"
            return result
        assert room.version == before.version + 1, "a change must move the version by one"
        assert room.updated_at == self.now
        first, *more = events
        for event in events:
            # Events name people by account id only and never carry a card.
            fields = asdict(event, recurse=False).items()
            texts = {k for k, v in fields if isinstance(v, str) and not isinstance(v, CheckedId)}
            assert texts <= {"role"}, event
        assert isinstance(first, kinds), (first, kinds)
        assert (first.tenant, first.room_id, first.version, first.at) == (
            TENANT,
            ROOM_ID,
            room.version,
            self.now,
        )
        if before.revealed and not isinstance(first, RoundReset | AccountErased | ParticipantLeft):
            assert room.votes == before.votes, "revealed votes are final until the next round"
        if isinstance(first, ParticipantLeft):
            assert first.account_id not in room.votes, "a leaver's card leaves the round"
        if isinstance(first, VotesRevealed):
            self.revealed = True
        if isinstance(first, RoundReset):
            self.revealed = False
        if more:
            # Auto-reveal happens inside the change that completed the votes.
            assert more == [
                VotesRevealed(
                    TENANT, ROOM_ID, room.version, self.now, round=room.round, automatic=True
                )
            ]
            assert not before.revealed
            assert room.revealed
            self.revealed = True
        if auto_reveals:
            assert_no_reveal_pending(room)
        return result

    def pick(self, actor: AccountId, whom: str) -> AccountId:
        """`actor`, or the kind of person `whom` asks for, if there is one."""
        room = self.room
        if whom == "owner" and room.owner is not None:
            return room.owner
        if whom == "newcomer":
            people = [account for account in POOL if account not in room.participants]
        elif whom == "member":
            people = sorted(room.participants)
        elif whom == "holder":
            people = sorted(room.votes)
        elif whom == "voter":
            people = sorted(p.account_id for p in room.voters())
        else:
            people = []
        return people[POOL.index(actor) % len(people)] if people else actor

    # -- the clock -----------------------------------------------------------------------

    @rule(seconds=st.integers(0, 3 * 24 * 3600))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(actor=accounts, whom=whom, which=st.integers(0, 14))
    def naive_time_is_refused(self, actor: AccountId, whom: str, which: int) -> None:
        actor = self.pick(actor, whom)
        before = copy.deepcopy(self.room)
        naive = self.now.replace(tzinfo=None)
        command = every_command(self.room, actor, naive)[which]
        try:
            command()
        except InvalidValue:
            pass
        else:
            raise AssertionError("a time without a timezone was accepted")
        assert self.room == before
        assert self.room.drain_events() == []

    # -- membership and presence ---------------------------------------------------------

    @rule(actor=accounts, whom=st.sampled_from(("newcomer", "newcomer", "member")), role=roles)
    def join(self, actor: AccountId, whom: str, role: Role) -> None:
        actor = self.pick(actor, whom)
        known = actor in self.room.participants
        result = self.call(
            lambda: self.room.join(actor, role, self.now),
            ParticipantJoined,
            RoleChanged,
            auto_reveals=True,
        )
        if result is not REFUSED:
            assert self.room.participants[actor].role is role
            assert not self.room.participants[actor].online or known, (
                "a newcomer is offline until a socket of theirs arrives"
            )

    @rule(actor=accounts, whom=whom)
    def leave(self, actor: AccountId, whom: str) -> None:
        actor = self.pick(actor, whom)
        result = self.call(
            lambda: self.room.leave(actor, self.now), ParticipantLeft, auto_reveals=True
        )
        if result is not REFUSED:
            assert actor not in self.room.participants

    @rule(actor=accounts, whom=whom, online=st.booleans())
    def presence(self, actor: AccountId, whom: str, online: bool) -> None:
        actor = self.pick(actor, whom)
        result = self.call(
            lambda: self.room.set_presence(actor, online, self.now),
            PresenceChanged,
            auto_reveals=True,
        )
        if result is not REFUSED and actor in self.room.participants:
            assert self.room.participants[actor].online is online

    # -- voting --------------------------------------------------------------------------

    @rule(
        actor=accounts,
        whom=whom,
        card=st.integers(0, 40),
        stray=st.none() | st.sampled_from((*ALL_LABELS, *STRAY_LABELS)),
    )
    def vote(self, actor: AccountId, whom: str, card: int, stray: str | None) -> None:
        """Pick a card of the deck (by position), or a label that may be none of the deck's."""
        actor = self.pick(actor, whom)
        cards = self.room.config.cards.cards
        self.cast(actor, cards[card % len(cards)].label if stray is None else stray)

    @rule(cards=st.lists(st.integers(0, 40), min_size=1, max_size=len(POOL)))
    def voters_vote_in_turn(self, cards: list[int]) -> None:
        """Several voters pick cards one after the other (rounds with many votes)."""
        deck = self.room.config.cards.cards
        voters = sorted(p.account_id for p in self.room.voters())
        for voter, card in zip(voters, cards, strict=False):
            self.cast(voter, deck[card % len(deck)].label)

    def cast(self, actor: AccountId, label: str) -> None:
        held = self.room.votes.get(actor)
        result = self.call(
            lambda: self.room.vote(actor, label, self.now),
            VoteCast,
            VoteWithdrawn,
            auto_reveals=True,
        )
        if result is REFUSED:
            return
        assert self.room.config.cards.has(label)
        # A vote says which card: the same card again is a no-op, never a withdrawal.
        assert self.room.votes[actor] == label
        if held == label:
            assert result is not REFUSED

    @rule(actor=accounts, whom=st.sampled_from(("anyone", "holder", "holder")))
    def withdraw(self, actor: AccountId, whom: str) -> None:
        actor = self.pick(actor, whom)
        result = self.call(lambda: self.room.withdraw(actor, self.now), VoteWithdrawn)
        if result is not REFUSED:
            assert actor not in self.room.votes

    def round_of(self, which: int | None) -> int | None:
        """The round a command names: none, the current one, or one before or after it."""
        return None if which is None else self.room.round + which

    @rule(actor=accounts, whom=whom, which=ROUNDS)
    def reveal(self, actor: AccountId, whom: str, which: int | None) -> None:
        actor = self.pick(actor, whom)
        named, was_revealed, version = self.round_of(which), self.room.revealed, self.room.version
        result = self.call(lambda: self.room.reveal(actor, self.now, named), VotesRevealed)
        if result is not REFUSED and (
            named is None or (named == self.room.round and not was_revealed)
        ):
            assert self.room.revealed
            assert self.room.votes
        elif result is not REFUSED:
            assert self.room.version == version, "a reveal of a round done must change nothing"

    @rule(actor=accounts, whom=whom, which=ROUNDS)
    def reset(self, actor: AccountId, whom: str, which: int | None) -> None:
        actor = self.pick(actor, whom)
        was_revealed, history, number = self.room.revealed, len(self.room.history), self.room.round
        votes = tuple(sorted(self.room.votes.items()))
        named, version = self.round_of(which), self.room.version
        result = self.call(lambda: self.room.reset(actor, self.now, named), RoundReset)
        if result is REFUSED:
            assert len(self.room.history) == history
            return
        if named is not None and named != number:
            assert (self.room.round, self.room.version) == (number, version), "a stale reset"
            return
        self.rounds_revealed.append(was_revealed)
        assert len(self.room.history) == history + 1
        assert self.room.round == number + 1
        record = self.room.history[-1]
        assert (record.number, record.votes, record.revealed) == (number, votes, was_revealed)
        assert not self.room.revealed
        assert self.room.votes == {}

    # -- ownership and configuration -----------------------------------------------------

    @rule(actor=accounts, whom=whom)
    def take_control(self, actor: AccountId, whom: str) -> None:
        actor = self.pick(actor, whom)
        previous = self.room.owner
        result = self.call(lambda: self.room.take_control(actor, self.now), ControlTaken)
        if result is REFUSED:
            return
        assert self.room.owner == actor
        if previous != actor:
            self.owner = actor

    @rule(actor=accounts, whom=whom, change=config_changes)
    def configure(self, actor: AccountId, whom: str, change: tuple[str, Any]) -> None:
        actor = self.pick(actor, whom)
        kind, detail = change
        if kind == "replace":
            config = detail
        elif kind == "toggle":
            switched: dict[str, Any] = {detail: not getattr(self.room.config, detail)}
            config = evolve(self.room.config, **switched)
        else:
            config = self.room.config
        result = self.call(
            lambda: self.room.configure(actor, config, self.now), RoomConfigured, auto_reveals=True
        )
        if result is not REFUSED:
            assert self.room.config == config

    # -- the estimate --------------------------------------------------------------------

    @rule(
        actor=accounts,
        whom=whom,
        card=st.integers(0, 40),
        text=st.none() | st.sampled_from(ESTIMATE_TEXTS),
        field_type=st.sampled_from(FieldType),
        options=st.lists(st.sampled_from(ESTIMATE_TEXTS), max_size=4),
        offered=st.booleans(),
        own_field=st.sampled_from((True, True, True, False)),
        other_field=st.sampled_from(FIELD_IDS),
    )
    def accept_estimate(
        self,
        actor: AccountId,
        whom: str,
        card: int,
        text: str | None,
        field_type: FieldType,
        options: list[str],
        offered: bool,
        own_field: bool,
        other_field: FieldId,
    ) -> None:
        """Accept a deck card (by position) or a typed text, for the room's field or another.

        Jira may describe the field as any type; an option field offers the value or not.
        """
        actor = self.pick(actor, whom)
        cards = self.room.config.cards.cards
        value = cards[card % len(cards)].label if text is None else text
        field_id = self.room.config.field_id if own_field else None
        spec = FieldSpec(
            field_id or other_field, field_type, [*options, value][: len(options) + offered]
        )
        result = self.call(
            lambda: self.room.accept_estimate(actor, value, spec, self.now), EstimateAccepted
        )
        if result is REFUSED:
            return
        assert isinstance(result, Estimate)
        assert result == self.room.estimate
        assert (result.round, result.accepted_by, result.written) == (self.room.round, actor, False)
        played = next((c for c in cards if c.label == value.strip()), None)
        assert played is None or not played.special, "a special card became an estimate"
        assert self.room.state == "estimated"
        assert result.field_id == self.room.config.field_id == spec.id
        if field_type is FieldType.NUMBER:
            assert result.value.number is not None
        if field_type is FieldType.OPTION:
            assert result.value.label in spec.options
        self.accepted.append(result)

    @rule(which=st.integers(0, 20), tweak=st.sampled_from(("as-is", "written", "later")))
    def mark_written(self, which: int, tweak: str) -> None:
        candidates = [*self.accepted, self.room.estimate]
        chosen = candidates[which % len(candidates)]
        if chosen is None:
            chosen = Estimate(
                EstimateValue("3", 3.0), FIELD_IDS[0], self.room.round, POOL[0], START
            )
        if tweak == "written":
            chosen = evolve(chosen, written=True)
        elif tweak == "later":
            chosen = evolve(chosen, accepted_at=chosen.accepted_at + timedelta(seconds=1))
        current, version = self.room.estimate, self.room.version
        result = self.call(
            lambda: self.room.mark_estimate_written(chosen, self.now), EstimateWritten
        )
        if result is REFUSED:
            return
        confirms = current is not None and not current.written and current == chosen
        assert (self.room.version == version + 1) == confirms
        if confirms:
            assert current is not None
            assert self.room.estimate == evolve(current, written=True)

    # -- removal and erasure -------------------------------------------------------------

    @rule(account=accounts, whom=whom)
    def erase_account(self, account: AccountId, whom: str) -> None:
        account = self.pick(account, whom)
        room = self.room
        candidates = heirs({a: p for a, p in room.participants.items() if a != account})
        was_owner = room.owner == account
        before = copy.deepcopy(room)
        result = self.call(
            lambda: room.erase_account(account, self.now), AccountErased, auto_reveals=True
        )
        if result is REFUSED:
            return
        assert result == (room.version == before.version + 1), "erase_account says if it erased"
        assert account.value not in repr(room), "the erased account is still in the room"
        # Everybody else's traces stay as they were.
        assert room.participants == {a: p for a, p in before.participants.items() if a != account}
        assert room.votes == {a: v for a, v in before.votes.items() if a != account}
        assert [r.votes for r in room.history] == [
            tuple(v for v in r.votes if v[0] != account) for r in before.history
        ]
        assert (room.config, room.round) == (before.config, before.round)
        # Erasing the last voter who had not voted may complete the round: auto-reveal.
        assert room.revealed == before.revealed or (room.config.auto_reveal and room.revealed)
        assert_no_reveal_pending(room)
        if was_owner:
            assert room.owner in candidates
            self.owner = room.owner

    @rule(
        actor=accounts,
        whom=st.just("anyone"),
        owner=accounts,
        config=room_configs(),
        guests=guest_lists,
    )
    def remove(
        self,
        actor: AccountId,
        whom: str,
        owner: AccountId,
        config: RoomConfig,
        guests: list[tuple[AccountId, Role]],
    ) -> None:
        actor = self.pick(actor, whom)
        result = self.call(lambda: self.room.remove(actor, self.now), RoomRemoved)
        if result is REFUSED:
            return
        assert self.room.removed
        self.removed = True
        # Nothing of a removed room can be used, by anyone, in any way.
        for who in (*POOL, STRANGER):
            for command in every_command(self.room, who, self.now):
                assert self.call(command) is REFUSED
        # Then the issue gets a new room, and the machine goes on with that one.
        self.open_room(owner, config, guests)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def votes_are_secret_until_reveal(self) -> None:
        room = self.room
        assert room.revealed == self.revealed
        assert [record.revealed for record in room.history] == self.rounds_revealed
        stranger = view_of(room, STRANGER)
        # Someone who never voted sees no card of an open round, and no card of a round
        # that ended unrevealed.
        if not self.revealed:
            assert all(p.card is None for p in stranger.participants)
            assert stranger.results is None
        for was_revealed, seen in zip(self.rounds_revealed, stranger.history, strict=True):
            if not was_revealed:
                assert all(vote.card is None for vote in seen.votes)
                assert seen.results is None
        # Everyone else sees exactly what the stranger sees, plus their own cards.
        for viewer in POOL:
            assert view_of(room, viewer) == with_own_cards(stranger, room, viewer)
        # The public view, which the live sockets' views are made from, is the stranger's.
        assert public_view(room) == evolve(stranger, viewer=None)

    @invariant()
    def votes_are_cards_of_the_deck_and_only_voters_vote(self) -> None:
        room = self.room
        for who, label in room.votes.items():
            assert room.config.cards.has(label), (who, label)
            if not room.revealed:
                participant = room.participants.get(who)
                assert participant is not None, "a vote outlived its voter in an open round"
                assert participant.role is Role.VOTER, "an observer holds a vote"

    @invariant()
    def history_and_owner_follow_the_commands(self) -> None:
        room = self.room
        assert len(room.history) == len(self.rounds_revealed)
        assert room.round == len(room.history) + 1
        assert [record.number for record in room.history] == list(range(1, room.round))
        assert room.owner == self.owner
        assert room.removed == self.removed
        assert room.pending_events == []


def assert_no_reveal_pending(room: Room) -> None:
    """With auto-reveal on, an open round never waits once every online voter has voted."""
    if room.config.auto_reveal and not room.revealed and room.votes:
        online_voters = [p.account_id for p in room.voters() if p.online]
        assert not online_voters or not all(who in room.votes for who in online_voters), (
            "every online voter has voted but the votes were not revealed automatically"
        )


def with_own_cards(stranger: RoomView, room: Room, viewer: AccountId) -> RoomView:
    """The stranger's view of the room with `viewer`'s own cards filled in."""
    participants = tuple(
        evolve(p, card=room.votes.get(viewer)) if p.account_id == viewer else p
        for p in stranger.participants
    )
    history = tuple(
        evolve(
            seen,
            votes=tuple(
                vote if vote.account_id != viewer else evolve(vote, card=dict(record.votes)[viewer])
                for vote in seen.votes
            ),
        )
        for record, seen in zip(room.history, stranger.history, strict=True)
    )
    return evolve(stranger, participants=participants, history=history, viewer=viewer)


RoomMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRoomMachine = RoomMachine.TestCase


# -- a gap the machine found ---------------------------------------------------------------


def auto_reveal_room_where_only_the_owner_voted() -> tuple[Room, AccountId]:
    """An auto-reveal room: the owner voted, one more online voter has not."""
    owner, late = POOL[0], POOL[1]
    room = Room.open(TENANT, ROOM_ID, ISSUE, owner, RoomConfig(auto_reveal=True), START)
    room.join(late, Role.VOTER, START)
    room.set_presence(owner, True, START)
    room.set_presence(late, True, START)
    room.vote(owner, "3", START)
    assert not room.revealed
    return room, late


def test_the_last_voter_leaving_reveals_automatically() -> None:
    room, late = auto_reveal_room_where_only_the_owner_voted()
    room.leave(late, START)
    assert room.revealed


def test_erasing_the_last_voter_reveals_automatically() -> None:
    room, late = auto_reveal_room_where_only_the_owner_voted()
    room.erase_account(late, START)
    assert room.revealed
