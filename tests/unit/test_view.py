"""The masked view: nobody sees another voter's card before reveal."""

from __future__ import annotations

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.view import view_of
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
