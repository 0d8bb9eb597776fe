"""The JSON of views: made together or one by one, the same objects."""

from __future__ import annotations

import orjson

from agiletoolbox.adapters.http.wire import Memo, room_view
from agiletoolbox.domain.config import Role
from agiletoolbox.domain.view import view_of, views_of
from tests.unit.roomkit import ANA, BEN, CAI, at, new_room


def test_views_rendered_with_one_memo_equal_views_rendered_alone() -> None:
    room = new_room(None, BEN)
    room.join(CAI, Role.OBSERVER, at(2))
    room.vote(ANA, "3", at(3))
    room.vote(BEN, "5", at(4))
    room.reset(ANA, at(5))  # a round that ended unrevealed: each voter sees their own card
    room.vote(ANA, "8", at(6))
    room.vote(BEN, "8", at(7))
    room.reveal(ANA, at(8))
    room.reset(ANA, at(9))
    room.vote(BEN, "13", at(10))
    viewers = (ANA, BEN, CAI)
    memo: Memo = {}
    together = {who: room_view(view, memo) for who, view in views_of(room, viewers).items()}
    for who in viewers:
        alone = room_view(view_of(room, who))
        assert together[who] == alone
        assert orjson.loads(orjson.dumps(together[who])) == alone
    # Only each viewer's own card differs between them.
    assert together[ANA]["deck"] is together[BEN]["deck"]
    cards = {who: [p["card"] for p in together[who]["participants"]] for who in viewers}
    assert cards == {ANA: [None, None, None], BEN: [None, "13", None], CAI: [None, None, None]}
    history = {who: together[who]["history"] for who in viewers}
    assert history[ANA][0]["votes"] == [
        {"accountId": ANA.value, "card": "3"},
        {"accountId": BEN.value, "card": None},
    ]
    assert history[CAI][1] is history[ANA][1]  # the revealed round is shared
