"""What the product holds about one person (data-subject export)."""

from __future__ import annotations

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.estimate import FieldSpec, FieldType
from agiletoolbox.domain.subject import trace_of
from tests.unit.roomkit import ANA, BEN, CAI, DEE, STORY_POINTS, at, new_room


def test_a_trace_holds_everything_the_room_knows_of_the_account() -> None:
    room = new_room(RoomConfig(field_id=STORY_POINTS), BEN)
    room.vote(BEN, "5", at(3))
    room.vote(ANA, "3", at(4))
    room.reveal(ANA, at(5))
    room.accept_estimate(ANA, "5", FieldSpec(STORY_POINTS, FieldType.NUMBER), at(6))
    room.reset(ANA, at(7))
    room.vote(BEN, "8", at(8))
    ben = trace_of(room, BEN)
    assert ben is not None
    assert (ben.owner, ben.role, ben.vote, ben.history_votes) == (
        False,
        Role.VOTER,
        "8",
        ((1, "5"),),
    )
    assert ben.accepted_estimate_in_round is None
    ana = trace_of(room, ANA)
    assert ana is not None
    assert (ana.owner, ana.accepted_estimate_in_round, ana.history_votes) == (True, 1, ((1, "3"),))


def test_a_room_that_never_saw_the_account_holds_no_trace() -> None:
    room = new_room(None, BEN)
    assert trace_of(room, CAI) is None


def test_a_departed_owner_still_has_a_trace() -> None:
    room = new_room(None, BEN)
    room.leave(ANA, at(5))
    trace = trace_of(room, ANA)
    assert trace is not None
    assert trace.owner
    assert trace.role is None
    room.join(DEE, Role.OBSERVER, at(6))
    observer = trace_of(room, DEE)
    assert observer is not None
    assert observer.role is Role.OBSERVER
