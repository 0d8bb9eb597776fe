"""The rules of a room, one by one."""

from __future__ import annotations

import copy

import pytest
from attrs import evolve

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.consensus import Spread
from agiletoolbox.domain.deck import QUESTION, T_SHIRT
from agiletoolbox.domain.errors import InvalidState, InvalidValue, NotFound, NotPermitted
from agiletoolbox.domain.estimate import FieldSpec, FieldType
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
    RoomOpened,
    RoomRemoved,
    RoundReset,
    VoteCast,
    VotesRevealed,
)
from agiletoolbox.domain.ids import FieldId
from agiletoolbox.domain.view import public_view
from tests.unit.roomkit import ANA, BEN, CAI, DEE, ISSUE, STORY_POINTS, T0, at, new_room

NUMBER_FIELD = FieldSpec(STORY_POINTS, FieldType.NUMBER)


def kinds(room_events: list[object]) -> list[type]:
    return [type(event) for event in room_events]


def test_opening_makes_the_opener_owner_and_voter() -> None:
    room = new_room()
    assert room.owner == ANA
    assert room.participants[ANA].role is Role.VOTER
    assert room.participants[ANA].online
    assert room.version == 1
    assert room.state == "voting"
    assert room.issue_key == ISSUE


def test_presence_follows_sockets_only() -> None:
    """Opening or joining (over REST, say) marks nobody online: only a live socket's
    arrival does, so nobody can look online with no socket to take them offline."""
    from agiletoolbox.domain.room import Room
    from tests.unit.roomkit import ROOM_ID, TENANT

    room = Room.open(TENANT, ROOM_ID, ISSUE, ANA, RoomConfig(), T0)
    room.join(BEN, Role.VOTER, at(1))
    assert not room.participants[ANA].online
    assert not room.participants[BEN].online
    assert not room.owner_present
    room.set_presence(ANA, True, at(2))
    assert room.owner_present


def test_opening_records_an_event() -> None:
    from agiletoolbox.domain.room import Room
    from tests.unit.roomkit import ROOM_ID, TENANT

    room = Room.open(TENANT, ROOM_ID, ISSUE, ANA, RoomConfig(), T0)
    assert kinds(room.drain_events()) == [RoomOpened]
    assert room.drain_events() == []


def test_naive_times_are_refused() -> None:
    room = new_room()
    with pytest.raises(InvalidValue, match="timezone"):
        room.join(BEN, Role.VOTER, T0.replace(tzinfo=None))


def test_joining_and_switching_roles() -> None:
    room = new_room()
    room.join(BEN, Role.VOTER, at(1))
    assert room.version == 2
    room.join(BEN, Role.VOTER, at(2))
    assert room.version == 2, "joining again with the same role changes nothing"
    room.vote(BEN, "5", at(3))
    room.join(BEN, Role.OBSERVER, at(4))
    assert room.participants[BEN].role is Role.OBSERVER
    assert BEN not in room.votes, "an observer holds no vote"
    assert kinds(room.drain_events()) == [ParticipantJoined, VoteCast, RoleChanged]


def test_observers_do_not_vote_and_strangers_must_join() -> None:
    room = new_room()
    room.join(BEN, Role.OBSERVER, at(1))
    with pytest.raises(NotPermitted, match="observers"):
        room.vote(BEN, "5", at(2))
    with pytest.raises(NotPermitted, match="join"):
        room.vote(CAI, "5", at(2))


def test_only_deck_cards_are_votes() -> None:
    room = new_room(RoomConfig(question_card=False))
    with pytest.raises(InvalidValue, match="not a card"):
        room.vote(ANA, "4", at(1))
    with pytest.raises(InvalidValue, match="not a card"):
        room.vote(ANA, QUESTION, at(1))
    assert room.version == 1


def test_question_card_when_configured() -> None:
    room = new_room(RoomConfig(question_card=True))
    room.vote(ANA, QUESTION, at(1))
    assert room.votes[ANA] == QUESTION


def test_a_vote_says_which_card_so_a_repeat_changes_nothing() -> None:
    room = new_room()
    room.vote(ANA, "5", at(1))
    room.vote(ANA, "8", at(2))
    assert room.votes[ANA] == "8"
    # A double click, or a resend after a lost answer: still 8, no change recorded.
    room.vote(ANA, "8", at(3))
    assert room.votes[ANA] == "8"
    assert kinds(room.drain_events()) == [VoteCast, VoteCast]
    assert room.version == 3
    room.withdraw(ANA, at(4))
    assert ANA not in room.votes


def test_withdraw_is_idempotent_and_closed_after_reveal() -> None:
    room = new_room(None, BEN)
    room.withdraw(BEN, at(1))
    assert room.version == 2
    room.vote(BEN, "3", at(2))
    room.withdraw(BEN, at(3))
    assert BEN not in room.votes
    room.vote(BEN, "3", at(4))
    room.reveal(ANA, at(5))
    with pytest.raises(InvalidState):
        room.withdraw(BEN, at(6))
    with pytest.raises(InvalidState, match="revealed"):
        room.vote(BEN, "5", at(6))


def test_reveal_needs_the_owner_and_a_vote() -> None:
    room = new_room(None, BEN)
    with pytest.raises(InvalidState, match="nobody"):
        room.reveal(ANA, at(1))
    room.vote(BEN, "3", at(2))
    with pytest.raises(NotPermitted, match="owner"):
        room.reveal(BEN, at(3))
    room.reveal(ANA, at(4))
    assert room.state == "revealed"
    with pytest.raises(InvalidState, match="already"):
        room.reveal(ANA, at(5))


def test_reset_keeps_the_round_in_history() -> None:
    room = new_room(None, BEN)
    room.vote(BEN, "3", at(1))
    room.vote(ANA, "5", at(2))
    room.reveal(ANA, at(3))
    with pytest.raises(NotPermitted):
        room.reset(BEN, at(4))
    room.reset(ANA, at(5))
    assert room.round == 2
    assert room.votes == {}
    assert not room.revealed
    (record,) = room.history
    assert record.number == 1
    assert dict(record.votes) == {BEN: "3", ANA: "5"}
    assert record.revealed
    assert record.started_at == T0
    assert record.ended_at == at(5)
    assert record.estimate is None
    assert kinds(room.drain_events())[-1] is RoundReset


def test_reset_of_an_open_round_keeps_it_unrevealed() -> None:
    room = new_room(None, BEN)
    room.vote(BEN, "3", at(1))
    room.reset(ANA, at(2))
    assert not room.history[0].revealed


class TestOfflineVoting:
    def test_a_vote_survives_going_offline(self) -> None:
        room = new_room(RoomConfig(offline_voting=True), BEN)
        room.vote(BEN, "5", at(1))
        room.set_presence(BEN, False, at(2))
        assert room.votes[BEN] == "5"
        assert not room.participants[BEN].online

    def test_without_it_the_vote_leaves_with_the_voter(self) -> None:
        room = new_room(RoomConfig(offline_voting=False), BEN)
        room.vote(BEN, "5", at(1))
        room.set_presence(BEN, False, at(2))
        assert BEN not in room.votes

    def test_a_revealed_vote_stays_either_way(self) -> None:
        room = new_room(RoomConfig(offline_voting=False), BEN)
        room.vote(BEN, "5", at(1))
        room.reveal(ANA, at(2))
        room.set_presence(BEN, False, at(3))
        assert room.votes[BEN] == "5"

    def test_presence_changes_only_when_it_changes(self) -> None:
        room = new_room(None, BEN)
        room.set_presence(BEN, True, at(1))
        room.set_presence(CAI, False, at(1))
        assert room.version == 2
        room.set_presence(BEN, False, at(2))
        room.set_presence(BEN, True, at(3))
        assert kinds(room.drain_events()) == [PresenceChanged, PresenceChanged]


def test_leaving_takes_an_open_vote_along_but_the_owner_stays_owner() -> None:
    room = new_room(None, BEN)
    room.vote(BEN, "5", at(1))
    room.leave(BEN, at(2))
    assert BEN not in room.participants
    assert BEN not in room.votes
    room.leave(BEN, at(3))
    room.leave(ANA, at(4))
    assert room.owner == ANA
    assert not room.owner_present
    assert kinds(room.drain_events()) == [VoteCast, ParticipantLeft, ParticipantLeft]


def test_leaving_after_reveal_takes_the_revealed_vote_along() -> None:
    # One rule for results, cards shown and history: the round counts the people in it.
    room = new_room(None, BEN, CAI)
    room.vote(ANA, "3", at(1))
    room.vote(BEN, "5", at(1))
    room.vote(CAI, "13", at(1))
    room.reveal(ANA, at(2))
    room.leave(CAI, at(3))
    assert room.votes == {ANA: "3", BEN: "5"}
    view = public_view(room)
    assert view.results is not None
    assert view.results.spread == Spread("3", "5")
    assert view.results.count == len([p for p in view.participants if p.card]) == 2
    room.reset(ANA, at(4))
    assert dict(room.history[-1].votes) == {ANA: "3", BEN: "5"}


def test_reveal_and_reset_with_a_round_are_no_ops_once_that_round_is_done() -> None:
    room = new_room(None, BEN)
    room.vote(BEN, "5", at(1))
    room.reveal(ANA, at(2), 1)
    room.reveal(ANA, at(3), 1)  # a double click
    room.reset(ANA, at(4), 1)
    version = room.version
    room.reset(ANA, at(5), 1)  # a double click on "New round" never skips a round
    room.reveal(ANA, at(6), 1)
    assert (room.round, room.version, len(room.history)) == (2, version, 1)
    with pytest.raises(InvalidState, match="nobody has voted"):
        room.reveal(ANA, at(7), 2)
    with pytest.raises(NotPermitted):
        room.reset(BEN, at(8), 2)


class TestAutoReveal:
    def test_reveals_when_every_online_voter_voted(self) -> None:
        room = new_room(RoomConfig(auto_reveal=True), BEN, CAI)
        room.join(DEE, Role.OBSERVER, at(5))
        room.set_presence(CAI, False, at(6))
        room.vote(ANA, "3", at(7))
        assert not room.revealed
        room.vote(BEN, "5", at(8))
        assert room.revealed
        events = room.drain_events()
        assert isinstance(events[-1], VotesRevealed)
        assert events[-1].automatic
        assert events[-1].version == events[-2].version == room.version

    def test_not_without_the_setting(self) -> None:
        room = new_room(RoomConfig(auto_reveal=False), BEN)
        room.vote(ANA, "3", at(1))
        room.vote(BEN, "5", at(2))
        assert not room.revealed

    def test_when_the_last_holdout_leaves(self) -> None:
        room = new_room(RoomConfig(auto_reveal=True), BEN)
        room.vote(ANA, "3", at(1))
        room.leave(BEN, at(2))
        assert room.revealed


class TestTakeControl:
    def test_when_the_owner_is_away_and_the_room_allows_it(self) -> None:
        room = new_room(RoomConfig(allow_take_control=True), BEN)
        with pytest.raises(InvalidState, match="owner is in"):
            room.take_control(BEN, at(1))
        room.set_presence(ANA, False, at(2))
        room.take_control(BEN, at(3))
        assert room.owner == BEN
        event = room.drain_events()[-1]
        assert isinstance(event, ControlTaken)
        assert event.previous_owner == ANA
        room.take_control(BEN, at(4))
        assert room.version == 4, "taking control of your own room changes nothing"

    def test_not_when_the_room_forbids_it(self) -> None:
        room = new_room(RoomConfig(allow_take_control=False), BEN)
        room.set_presence(ANA, False, at(1))
        with pytest.raises(NotPermitted, match="does not allow"):
            room.take_control(BEN, at(2))

    def test_only_participants(self) -> None:
        room = new_room()
        room.set_presence(ANA, False, at(1))
        with pytest.raises(NotPermitted, match="join"):
            room.take_control(BEN, at(2))


class TestOwnerOnly:
    @pytest.mark.parametrize("action", ["reveal", "reset", "remove"])
    def test_actions(self, action: str) -> None:
        room = new_room(None, BEN)
        room.vote(BEN, "5", at(1))
        with pytest.raises(NotPermitted, match="owner"):
            getattr(room, action)(BEN, at(2))

    def test_configure(self) -> None:
        room = new_room(None, BEN)
        with pytest.raises(NotPermitted, match="owner"):
            room.configure(BEN, RoomConfig(auto_reveal=True), at(1))

    def test_accept(self) -> None:
        room = new_room(RoomConfig(field_id=STORY_POINTS), BEN)
        room.vote(BEN, "5", at(1))
        room.reveal(ANA, at(2))
        with pytest.raises(NotPermitted, match="owner"):
            room.accept_estimate(BEN, "5", NUMBER_FIELD, at(3))


class TestConfigure:
    def test_changes_the_rules_and_counts_as_a_change(self) -> None:
        room = new_room()
        room.configure(ANA, RoomConfig(), at(1))
        assert room.version == 1, "the same configuration changes nothing"
        room.configure(ANA, RoomConfig(auto_reveal=True, persistent=True), at(2))
        assert room.config.persistent
        assert kinds(room.drain_events()) == [RoomConfigured]

    def test_votes_for_vanished_cards_are_dropped(self) -> None:
        room = new_room(None, BEN)
        room.vote(ANA, "3", at(1))
        room.vote(BEN, QUESTION, at(2))
        room.configure(ANA, RoomConfig(question_card=False), at(3))
        assert room.votes == {ANA: "3"}

    def test_the_deck_stays_while_votes_are_revealed(self) -> None:
        room = new_room()
        room.vote(ANA, "3", at(1))
        room.reveal(ANA, at(2))
        with pytest.raises(InvalidState, match="new round"):
            room.configure(ANA, RoomConfig(deck=T_SHIRT), at(3))
        room.configure(ANA, RoomConfig(field_id=STORY_POINTS), at(4))
        assert room.config.field_id == STORY_POINTS

    def test_value_maps_are_checked_against_the_deck(self) -> None:
        RoomConfig(deck=T_SHIRT, value_map={"S": 1, "M": 3})
        with pytest.raises(InvalidValue, match="not a card"):
            RoomConfig(deck=T_SHIRT, value_map={"XXXL": 40})
        with pytest.raises(InvalidValue, match="already is a number"):
            RoomConfig(value_map={"5": 5})
        with pytest.raises(InvalidValue, match="out of range"):
            RoomConfig(deck=T_SHIRT, value_map={"S": -1})
        with pytest.raises(InvalidValue, match="special"):
            RoomConfig(deck=T_SHIRT.with_question_card(True), value_map={QUESTION: 1})


class TestEstimate:
    def revealed(self, config: RoomConfig) -> object:
        room = new_room(config, BEN)
        room.vote(BEN, "M" if not config.deck.numeric else "5", at(1))
        room.reveal(ANA, at(2))
        return room

    def test_accept_then_written(self) -> None:
        room = new_room(RoomConfig(field_id=STORY_POINTS), BEN)
        room.vote(BEN, "5", at(1))
        with pytest.raises(InvalidState, match="reveal"):
            room.accept_estimate(ANA, "5", NUMBER_FIELD, at(2))
        room.reveal(ANA, at(3))
        estimate = room.accept_estimate(ANA, "5", NUMBER_FIELD, at(4))
        assert room.state == "estimated"
        assert estimate.value.number == 5
        assert estimate.accepted_by == ANA
        assert not estimate.written
        room.mark_estimate_written(estimate, at(5))
        assert room.estimate is not None
        assert room.estimate.written
        room.mark_estimate_written(estimate, at(6))
        assert kinds(room.drain_events())[-2:] == [EstimateAccepted, EstimateWritten]
        room.reset(ANA, at(7))
        assert room.state == "voting"
        assert room.history[-1].estimate == estimate.value

    def test_a_superseded_estimate_is_not_marked_written(self) -> None:
        room = new_room(RoomConfig(field_id=STORY_POINTS), BEN)
        room.vote(BEN, "5", at(1))
        room.reveal(ANA, at(2))
        first = room.accept_estimate(ANA, "5", NUMBER_FIELD, at(3))
        room.accept_estimate(ANA, "8", NUMBER_FIELD, at(4))
        version = room.version
        room.mark_estimate_written(first, at(5))
        assert room.version == version
        assert room.estimate is not None
        assert not room.estimate.written

    def test_needs_a_field_and_the_matching_one(self) -> None:
        room = new_room(None, BEN)
        room.vote(BEN, "5", at(1))
        room.reveal(ANA, at(2))
        with pytest.raises(InvalidState, match="field"):
            room.accept_estimate(ANA, "5", NUMBER_FIELD, at(3))
        room.configure(ANA, RoomConfig(field_id=FieldId("customfield_1")), at(4))
        with pytest.raises(InvalidValue, match="does not match"):
            room.accept_estimate(ANA, "5", NUMBER_FIELD, at(5))

    def test_t_shirt_needs_a_number_for_a_number_field(self) -> None:
        room = new_room(RoomConfig(deck=T_SHIRT, field_id=STORY_POINTS), BEN)
        room.vote(BEN, "M", at(1))
        room.reveal(ANA, at(2))
        with pytest.raises(InvalidValue, match="has no number"):
            room.accept_estimate(ANA, "M", NUMBER_FIELD, at(3))
        config = RoomConfig(deck=T_SHIRT, field_id=STORY_POINTS, value_map={"M": 3})
        room.configure(ANA, config, at(4))
        estimate = room.accept_estimate(ANA, "M", NUMBER_FIELD, at(5))
        assert estimate.value.number == 3
        assert estimate.value.label == "M"


class TestRemove:
    def test_remove_ends_everything(self) -> None:
        room = new_room(None, BEN)
        room.remove(ANA, at(1))
        assert room.removed
        assert kinds(room.drain_events()) == [RoomRemoved]
        with pytest.raises(NotFound):
            room.vote(BEN, "5", at(2))
        with pytest.raises(NotFound):
            room.join(CAI, Role.VOTER, at(2))


class TestErasure:
    def test_every_trace_goes(self) -> None:
        room = new_room(RoomConfig(field_id=STORY_POINTS), BEN, CAI)
        room.vote(BEN, "5", at(1))
        room.reveal(ANA, at(2))
        room.reset(ANA, at(3))
        room.vote(BEN, "8", at(4))
        assert room.erase_account(BEN, at(5))
        assert BEN not in room.participants
        assert BEN not in room.votes
        assert all(who != BEN for record in room.history for who, _ in record.votes)
        assert kinds(room.drain_events())[-1] is AccountErased
        assert not room.erase_account(BEN, at(6))

    def test_the_owners_room_passes_to_an_online_voter(self) -> None:
        room = new_room(None, BEN, CAI)
        room.set_presence(BEN, False, at(5))
        room.erase_account(ANA, at(6))
        assert room.owner == CAI

    def test_the_estimate_loses_its_author(self) -> None:
        room = new_room(RoomConfig(field_id=STORY_POINTS))
        room.vote(ANA, "5", at(1))
        room.reveal(ANA, at(2))
        room.accept_estimate(ANA, "5", NUMBER_FIELD, at(3))
        room.erase_account(ANA, at(4))
        assert room.owner is None
        assert room.estimate is not None
        assert room.estimate.accepted_by is None

    def test_an_ownerless_room_waits_for_someone_to_take_control(self) -> None:
        room = new_room()
        room.erase_account(ANA, at(1))
        assert room.owner is None
        room.join(BEN, Role.VOTER, at(2))
        room.take_control(BEN, at(3))
        assert room.owner == BEN


def test_refused_actions_leave_the_room_untouched() -> None:
    room = new_room(None, BEN)
    before = copy.deepcopy(room)
    for attempt in (
        lambda: room.reveal(ANA, at(1)),
        lambda: room.vote(CAI, "5", at(1)),
        lambda: room.reset(BEN, at(1)),
    ):
        with pytest.raises((InvalidState, NotPermitted)):
            attempt()
    assert room == before
    assert evolve(room.config) == before.config


def test_an_ownerless_room_can_be_taken_over_even_when_the_room_forbids_it() -> None:
    room = new_room(RoomConfig(allow_take_control=False))
    room.erase_account(ANA, at(1))
    room.join(BEN, Role.VOTER, at(2))
    room.take_control(BEN, at(3))
    assert room.owner == BEN


def test_the_successor_is_the_earliest_online_voter_else_the_earliest_participant() -> None:
    room = new_room(None, BEN)
    room.join(CAI, Role.OBSERVER, at(5))
    room.set_presence(BEN, False, at(6))
    room.erase_account(ANA, at(7))
    assert room.owner == BEN, "no online voter: the earliest participant"
    room = new_room(None, BEN, CAI)
    room.set_presence(BEN, False, at(6))
    room.erase_account(ANA, at(7))
    assert room.owner == CAI, "the earliest online voter comes first"


def test_a_copy_changes_without_touching_the_original() -> None:
    room = new_room(None, BEN)
    room.vote(ANA, "3", at(1))
    room.reset(ANA, at(2))
    room.vote(BEN, "5", at(3))
    room.drain_events()
    copy = room.copy()
    assert copy == room
    copy.vote(ANA, "8", at(4))
    copy.join(CAI, Role.OBSERVER, at(5))
    copy.reset(ANA, at(6))
    assert room.votes == {BEN: "5"}
    assert set(room.participants) == {ANA, BEN}
    assert len(room.history) == 1
    assert room.pending_events == []
    assert len(copy.pending_events) == 3


class TestTimer:
    def test_the_owner_starts_extends_and_stops_it(self) -> None:
        room = new_room(None, BEN)
        room.start_timer(ANA, 60, at(1))
        assert room.timer is not None
        assert room.timer.ends_at == at(61)
        room.extend_timer(ANA, 30, at(2))
        assert room.timer.ends_at == at(91)
        room.stop_timer(ANA, at(3))
        assert room.timer is None
        version = room.version
        room.stop_timer(ANA, at(4))  # stopping no timer changes nothing
        assert room.version == version
        with pytest.raises(NotPermitted):
            room.start_timer(BEN, 60, at(5))

    @pytest.mark.parametrize("seconds", [0, 9, 3601, -5])
    def test_a_timer_runs_from_ten_seconds_to_an_hour(self, seconds: int) -> None:
        room = new_room()
        with pytest.raises(InvalidValue, match="10 seconds to an hour"):
            room.start_timer(ANA, seconds, at(1))

    def test_an_extension_keeps_it_within_an_hour_and_needs_a_running_timer(self) -> None:
        room = new_room()
        with pytest.raises(InvalidState, match="no timer"):
            room.extend_timer(ANA, 30, at(1))
        room.start_timer(ANA, 3000, at(1))
        with pytest.raises(InvalidValue, match="an hour at most"):
            room.extend_timer(ANA, 601, at(2))
        room.start_timer(ANA, 10, at(3))
        with pytest.raises(InvalidState, match="no timer"):
            room.extend_timer(ANA, 30, at(14))  # it ran out

    def test_time_up_reveals_only_with_the_rule_and_a_vote(self) -> None:
        room = new_room(RoomConfig(reveal_on_timer=True), BEN)
        room.start_timer(ANA, 10, at(1))
        version = room.version
        room.time_up(1, at(5))  # early: nothing
        assert (room.version, room.timer is not None) == (version, True)
        room.vote(BEN, "5", at(6))
        room.time_up(1, at(11))
        assert room.revealed
        assert room.timer is None
        events = room.drain_events()
        assert isinstance(events[-1], VotesRevealed)
        assert events[-1].automatic
        version = room.version
        room.time_up(1, at(12))  # a second process, a moment later: nothing left to do
        assert room.version == version

    def test_without_the_rule_time_up_only_ends_the_timer(self) -> None:
        room = new_room(None, BEN)
        room.vote(BEN, "5", at(1))
        room.start_timer(ANA, 10, at(1))
        room.time_up(1, at(11))
        assert (room.revealed, room.timer) == (False, None)

    def test_a_reveal_or_a_new_round_ends_the_timer(self) -> None:
        room = new_room(None, BEN)
        room.vote(BEN, "5", at(1))
        room.start_timer(ANA, 60, at(1))
        room.reveal(ANA, at(2))
        assert room.timer is None
        with pytest.raises(InvalidState, match="start a new round"):
            room.start_timer(ANA, 60, at(3))
        room.reset(ANA, at(3))
        room.start_timer(ANA, 60, at(4))
        room.reset(ANA, at(5))
        assert room.timer is None
        room.time_up(2, at(100))  # the old round's timer is gone for good
        assert room.round == 3
