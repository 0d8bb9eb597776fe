"""The JSON of views: the public JSON with one's own cards is one's view, and what changed
between two versions, applied to the older view, is the newer one."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agiletoolbox.adapters.http import room_json
from agiletoolbox.adapters.http.room_json import (
    Json,
    changes_of,
    public_json,
    render,
    shares,
    view_json,
    with_own,
)
from agiletoolbox.adapters.http.wire import unstructure
from agiletoolbox.domain.config import Role
from agiletoolbox.domain.errors import DomainError
from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.view import own_cards, own_cards_of, public_view, view_of
from tests.livekit import apply_changes
from tests.unit.roomkit import ANA, BEN, CAI, DEE, at, new_room

PEOPLE = (ANA, BEN, CAI, DEE)
CARDS = ("1", "3", "5", "8", "?")


def act(room: Room, step: tuple[str, int, int], when: int) -> None:
    """One thing a person does; refusals are part of play and change nothing."""
    what, who, card = step
    person = PEOPLE[who]
    moves: dict[str, Any] = {
        "join": lambda: room.join(person, Role.VOTER, at(when)),
        "watch": lambda: room.join(person, Role.OBSERVER, at(when)),
        "vote": lambda: room.vote(person, CARDS[card], at(when)),
        "withdraw": lambda: room.withdraw(person, at(when)),
        "leave": lambda: room.leave(person, at(when)),
        "offline": lambda: room.set_presence(person, False, at(when)),
        "reveal": lambda: room.reveal(ANA, at(when)),
        "reset": lambda: room.reset(ANA, at(when)),
    }
    with contextlib.suppress(DomainError):
        moves[what]()


steps = st.lists(
    st.tuples(
        st.sampled_from(
            ("join", "watch", "vote", "withdraw", "leave", "offline", "reveal", "reset")
        ),
        st.integers(0, len(PEOPLE) - 1),
        st.integers(0, len(CARDS) - 1),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_views_and_their_changes_agree_with_the_domain(plays: list[tuple[str, int, int]]) -> None:
    room = new_room(None, BEN)
    before = {who: view_json(room, who) for who in PEOPLE}
    rendered, _ = render(room)
    holders = own_cards_of(room)
    for when, step in enumerate(plays, start=10):
        act(room, step, when)
        now, changed = render(room, rendered)
        # Rendering next to the version before renders what rendering afresh does.
        assert now.json == public_json(room)
        assert now.view == public_view(room)
        now_holders = own_cards_of(room)
        for who in PEOPLE:
            view = view_json(room, who)
            # The adapter puts one's own cards in as the domain does; the public JSON with
            # nothing of one's own is what one sees when one holds no hidden card.
            assert view == unstructure(view_of(room, who))
            assert with_own(now.json, who, now_holders.get(who)) == view
            own = own_cards(room, who)
            assert (who in now_holders) == (own.current is not None or bool(own.rounds))
            # What changed in the public view, with one's own cards' changes put in, is
            # what changed in one's view: applied to the older view, it gives the newer
            # one; as JSON too.
            mine = changes_of(
                changed, rendered.json, now.json, who, holders.get(who), now_holders.get(who)
            )
            patch = orjson.loads(orjson.dumps(mine))
            assert apply_changes(copy.deepcopy(before[who]), patch) == view
            # Someone whose own cards did not change (and are in no whole array sent) may
            # be sent the change of the public view that everyone else is sent.
            if shares(changed, holders.get(who), now_holders.get(who)):
                shared = orjson.loads(orjson.dumps(changed))
                assert apply_changes(before[who], shared) == view
            before[who] = view
        rendered, holders = now, now_holders


def patches(room: Room, move: Callable[[], object], *people: AccountId) -> dict[AccountId, Json]:
    """What each of `people` is sent when `move` changes `room` (as the live rooms make it)."""
    rendered, _ = render(room)
    holders = own_cards_of(room)
    move()
    now, changed = render(room, rendered)
    after = own_cards_of(room)
    return {
        who: changes_of(changed, rendered.json, now.json, who, holders.get(who), after.get(who))
        for who in people
    }


def test_a_peers_vote_changes_one_field_of_one_participant() -> None:
    room = new_room(None, BEN, CAI)
    sent = patches(room, lambda: room.vote(BEN, "5", at(10)), BEN, CAI)
    assert sent[CAI] == {"version": room.version, "participants": {BEN.value: {"voted": True}}}
    # A change that leaves one's view as it was but its version sends the version alone,
    # to those who hold a hidden card too.
    public, own = public_json(room), own_cards(room, BEN)
    only = {"version": room.version}
    assert changes_of(only, public, public | only, BEN, own, own) == only


def test_a_peers_vote_is_the_same_change_for_everyone_else() -> None:
    room = new_room(None, BEN, CAI, DEE)
    room.vote(CAI, "3", at(9))
    rendered, _ = render(room)
    holders = own_cards_of(room)
    room.vote(BEN, "5", at(10))
    rendered, changed = render(room, rendered)
    now_holders = own_cards_of(room)
    # Cai holds a hidden card, unchanged: the public change is his too; Ben's is his own.
    assert shares(changed, holders.get(CAI), now_holders.get(CAI))
    assert shares(changed, holders.get(DEE), now_holders.get(DEE))
    assert not shares(changed, holders.get(BEN), now_holders.get(BEN))
    # Someone joins: the participants go whole, and Cai's must carry his card.
    room.join(AccountId("557058:eve"), Role.OBSERVER, at(11))
    _, changed = render(room, rendered)
    assert isinstance(changed["participants"], list)
    assert not shares(changed, now_holders.get(CAI), own_cards_of(room).get(CAI))


def test_the_own_card_reaches_its_voter_only() -> None:
    room = new_room(None, BEN, CAI)
    sent = patches(room, lambda: room.vote(BEN, "8", at(10)), BEN, CAI)
    assert sent[BEN]["participants"] == {BEN.value: {"voted": True, "card": "8"}}
    assert b'"8"' not in orjson.dumps(sent[CAI])


def test_joining_sends_the_participants_whole() -> None:
    room = new_room(None, BEN)
    room.vote(BEN, "3", at(9))
    sent = patches(room, lambda: room.join(CAI, Role.OBSERVER, at(10)), BEN)
    people = sent[BEN]["participants"]
    assert [p["accountId"] for p in people] == [ANA.value, BEN.value, CAI.value]
    # The whole array carries Ben's own card: it replaces the one his page holds.
    assert people[1]["card"] == "3"


def test_a_vote_is_rendered_from_the_view_before(monkeypatch: pytest.MonkeyPatch) -> None:
    # Votes are the commonest change: rendering one takes the public view before with the
    # version and the voted flags changed, and makes no new view. Anything else does.
    room = new_room(None, BEN, CAI)
    rendered, _ = render(room)
    made: list[Room] = []

    def counted(room: Room, *args: Any) -> Any:
        made.append(room)
        return public_view(room, *args)

    monkeypatch.setattr(room_json, "public_view", counted)
    for card in ("3", "5", "5"):
        room.vote(BEN, card, at(10))
        rendered, changed = render(room, rendered)
    room.withdraw(BEN, at(11))
    rendered, withdrawn = render(room, rendered)
    assert made == []
    assert changed == {"version": room.version - 1}
    assert withdrawn == {"version": room.version, "participants": {str(BEN): {"voted": False}}}
    assert rendered.view == public_view(room)
    room.vote(CAI, "8", at(12))
    room.reveal(ANA, at(13))
    rendered, revealed = render(room, rendered)
    assert made == [room]
    assert revealed["state"] == "revealed"
    assert rendered.json == public_json(room)
