"""The masked view: nobody sees another voter's card before reveal."""

from __future__ import annotations

import pytest
from attrs import evolve

from agiletoolbox.domain import consensus as consensus_module
from agiletoolbox.domain import room as room_module
from agiletoolbox.domain import view as view_module
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.view import public_view, view_of
from tests.unit.roomkit import ANA, BEN, CAI, at, new_room


def cards_seen_by(viewer: object, room: object) -> dict[object, str | None]:
    view = view_of(room, viewer)  # type: ignore[arg-type]
    return {p.account_id: p.card for p in view.participants}


def test_before_reveal_each_sees_only_their_own_card() -> None:
    room = new_room(None, BEN)
    room.join(CAI, Role.OBSERVER, at(5))
    room.vote(ANA, "3", at(6))
    room.vote(BEN, "5", at(7))
    assert cards_seen_by(ANA, room) == {ANA: "3", BEN: None, CAI: None}
    assert cards_seen_by(BEN, room) == {ANA: None, BEN: "5", CAI: None}
    assert cards_seen_by(CAI, room) == {ANA: None, BEN: None, CAI: None}
    view = view_of(room, CAI)
    assert [p.voted for p in view.participants] == [True, True, False]
    assert view.results is None
    assert view.state == "voting"


def test_after_reveal_everyone_sees_every_card_and_the_results() -> None:
    room = new_room(None, BEN)
    room.vote(ANA, "3", at(1))
    room.vote(BEN, "5", at(2))
    room.reveal(ANA, at(3))
    view = view_of(room, CAI)
    assert {p.account_id: p.card for p in view.participants} == {ANA: "3", BEN: "5"}
    assert view.results is not None
    assert view.results.mean == 4.0
    assert view.results.closest_card == "5"


def test_history_of_unrevealed_rounds_stays_masked() -> None:
    room = new_room(None, BEN)
    room.vote(ANA, "3", at(1))
    room.vote(BEN, "5", at(2))
    room.reset(ANA, at(3))
    (seen_by_ben,) = view_of(room, BEN).history
    assert {v.account_id: v.card for v in seen_by_ben.votes} == {ANA: None, BEN: "5"}
    assert seen_by_ben.results is None
    room.vote(BEN, "8", at(4))
    room.reveal(ANA, at(5))
    room.reset(ANA, at(6))
    revealed = view_of(room, CAI).history[1]
    assert {v.account_id: v.card for v in revealed.votes} == {BEN: "8"}
    assert revealed.results is not None


def test_the_view_carries_the_configuration_and_version() -> None:
    config = RoomConfig(question_card=True, auto_reveal=True, persistent=True)
    room = new_room(config)
    view = view_of(room, ANA)
    assert view.version == room.version
    assert view.deck.cards[-1].label == "?"
    assert view.auto_reveal
    assert view.persistent
    assert view.owner == ANA
    assert view.owner_present
    assert view.viewer == ANA


def test_a_finished_rounds_results_are_worked_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Working out results is exact arithmetic; a room with many finished rounds once did
    # it for every round on every view, so each vote cost ten times what it should.
    room = new_room(None, BEN, CAI)
    for n in range(4):
        room.vote(BEN, "3", at(10 * n + 1))
        room.vote(CAI, "8", at(10 * n + 2))
        room.reveal(ANA, at(10 * n + 3))
        room.reset(ANA, at(10 * n + 4))
    first = public_view(room)
    calls: list[object] = []

    def counted(*args: object) -> object:
        calls.append(args)
        return consensus_module.consensus(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(view_module, "consensus", counted)
    monkeypatch.setattr(room_module, "consensus", counted)
    room.vote(BEN, "5", at(100))
    again = public_view(room)
    assert calls == []
    assert [r.results for r in again.history] == [r.results for r in first.history]
    assert all(r.results is not None and r.results.mean == 5.5 for r in again.history)
    # Reusing the views of the rounds an earlier view was made of changes nothing either;
    # a room read again holds equal records, whose views are reused just the same.
    assert public_view(room, (tuple(room.history), first)) == again
    reread = room.copy()
    reread.history = [evolve(record) for record in room.history]
    assert public_view(reread, (tuple(room.history), first)) == again
    assert calls == []
    # Without an earlier view the new records' results are worked out, once each.
    assert public_view(reread) == again
    assert len(calls) == 4


def test_a_vote_makes_only_the_voters_view_anew() -> None:
    # Rendering a change compares the new public view with the one before; a participant
    # whose view did not change keeps the very object it had, so that compare is cheap.
    room = new_room(None, BEN, CAI)
    first = public_view(room)
    room.vote(BEN, "3", at(10))
    again = public_view(room, (tuple(room.history), first))
    assert again == public_view(room)
    kept = [new is old for new, old in zip(again.participants, first.participants, strict=True)]
    assert kept == [p.account_id != BEN for p in first.participants]
    # Someone who left and joined again is placed by their new joining, never by the view
    # they had before.
    room.leave(ANA, at(20))
    room.join(ANA, Role.VOTER, at(21))
    last = public_view(room, (tuple(room.history), again))
    assert last == public_view(room)
    assert [p.account_id for p in last.participants] == [BEN, CAI, ANA]
