"""A room as the JSON the API sends: a person's whole view, or what changed in it.

The JSON of a view is the public view's (`domain.view.public_view`, rendered once per
change for everyone) with the viewer's own cards put in (`with_own`). Between two
versions a person is sent only what changed: the top-level fields that differ, and the
participants as an object of what changed per account id while nobody joined or left (the
whole array otherwise). A vote thus costs each peer a few dozen bytes. Rendering a new
version next to the one before (`render`) renders only the fields that changed, and
knows the change while doing so.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any, get_type_hints

import attrs
from attrs import frozen

from agiletoolbox.adapters.http.wire import unstructure, unstructure_as, wire_name
from agiletoolbox.domain.config import Participant
from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.room import Room, RoundRecord
from agiletoolbox.domain.view import OwnCards, ParticipantView, RoomView, own_cards, public_view

Json = dict[str, Any]

_HINTS = get_type_hints(RoomView)
_FIELDS = tuple(
    (field.name, wire_name(RoomView, field.name), _HINTS[field.name])
    for field in attrs.fields(RoomView)
)
_VALUES = operator.attrgetter(*(name for name, _, _ in _FIELDS))
"""A view's fields' values, in the order of `_FIELDS`."""


_HELD = operator.attrgetter(
    "id",
    "issue_key",
    "owner",
    "config",
    "round",
    "round_started_at",
    "revealed",
    "estimate",
    "timer",
    "removed",
)
"""What of a room its public view is made of, besides its version, participants, votes and
finished rounds."""
_VERSION = next(n for n, (name, _, _) in enumerate(_FIELDS) if name == "version")
_PARTICIPANTS = next(n for n, (name, _, _) in enumerate(_FIELDS) if name == "participants")


@frozen
class Rendered:
    """A public view, its JSON, and what of the room it was made of: its finished rounds,
    what `_HELD` reads, and its participants (a room's collections and what they hold are
    never changed in place)."""

    view: RoomView
    json: Json
    rounds: Sequence[RoundRecord]
    held: tuple[object, ...]
    people: Mapping[AccountId, Participant]


def _rendered(view: RoomView, json: Json, room: Room) -> Rendered:
    return Rendered(view, json, room.history, _HELD(room), room.participants)


def render(room: Room, before: Rendered | None = None) -> tuple[Rendered, Json]:
    """The room's public view rendered, and what changed since `before` (its `version`
    always; every field when there is nothing before). Fields that did not change keep the
    JSON they had."""
    if before is None:
        view = public_view(room)
        json: Json = unstructure(view)
        return _rendered(view, json, room), json
    votes_alone = _votes_alone(room, before)
    if votes_alone is not None:
        return votes_alone
    view = public_view(room, (before.rounds, before.view))
    json = dict(before.json)
    patch: Json = {}
    for (name, key, kind), new, old in zip(
        _FIELDS, _VALUES(view), _VALUES(before.view), strict=True
    ):
        if new is old or new == old:
            continue
        if name == "participants":
            json[key] = _participants(new, old, before.json[key])
            patch[key] = _people(before.json[key], json[key])
        else:
            json[key] = patch[key] = unstructure_as(new, kind)
    patch["version"] = view.version
    return _rendered(view, json, room), patch


def _votes_alone(room: Room, before: Rendered) -> tuple[Rendered, Json] | None:
    """`render` of a room whose hidden votes alone changed since `before` (votes cast,
    changed or withdrawn before the reveal, the commonest change of all): in the public
    view only the version and who has voted can differ, so the view before is taken with
    those two changed, and nothing else is made again. None for any other change."""
    if (
        room.revealed
        or _HELD(room) != before.held
        # The very collections (a change made here), or equal ones (a room read again).
        or (
            room.participants is not before.people
            and tuple(room.participants.values()) != tuple(before.people.values())
        )
        or (room.history is not before.rounds and tuple(room.history) != tuple(before.rounds))
    ):
        return None
    votes = room.votes
    people = list(before.view.participants)
    key = _FIELDS[_PARTICIPANTS][1]
    people_json: list[Json] = before.json[key]
    voted: dict[str, Json] = {}
    for n, person in enumerate(people):
        now = person.account_id in votes
        if now is not person.voted:
            # Before the reveal nobody's card is in the public view.
            people[n] = ParticipantView(person.account_id, person.role, person.online, now, None)
            if not voted:
                people_json = list(people_json)
            people_json[n] = {**people_json[n], "voted": now}
            voted[people_json[n]["accountId"]] = {"voted": now}
    values = list(_VALUES(before.view))
    values[_VERSION] = room.version
    values[_PARTICIPANTS] = tuple(people)
    json = dict(before.json)
    json[_FIELDS[_VERSION][1]] = room.version
    json[key] = people_json
    patch: Json = {_FIELDS[_VERSION][1]: room.version}
    if voted:
        patch[key] = voted
    rendered = Rendered(RoomView(*values), json, before.rounds, before.held, room.participants)
    return rendered, patch


def _participants(
    new: tuple[ParticipantView, ...], old: tuple[ParticipantView, ...], old_json: list[Json]
) -> list[Json]:
    """The participants' JSON, keeping the JSON of each one whose view did not change (a
    vote changes one of them)."""
    if len(new) != len(old):
        return [unstructure(p) for p in new]
    return [
        was if p is o or p == o else unstructure(p)
        for p, o, was in zip(new, old, old_json, strict=True)
    ]


def public_json(room: Room) -> Json:
    """The room as anyone may see it, as JSON (`you` is null)."""
    return render(room)[0].json


def with_own(public: Json, viewer: AccountId, own: OwnCards | None) -> Json:
    """The public JSON as `viewer` sees it: their own cards put in (copies what it
    changes, so the public JSON stays as it was)."""
    view = dict(public)
    you = str(viewer)
    view["you"] = you
    if own is None:
        return view
    if own.current is not None:
        view["participants"] = [
            {**p, "card": own.current} if p["accountId"] == you else p
            for p in public["participants"]
        ]
    if own.rounds:
        mine = dict(own.rounds)
        view["history"] = [
            {
                **record,
                "votes": [
                    {**v, "card": mine[record["round"]]} if v["accountId"] == you else v
                    for v in record["votes"]
                ],
            }
            if record["round"] in mine
            else record
            for record in public["history"]
        ]
    return view


def view_json(room: Room, viewer: AccountId) -> Json:
    """The room as `viewer` may see it, as JSON."""
    return with_own(public_json(room), viewer, own_cards(room, viewer))


def shares(patch: Json, before: OwnCards | None, after: OwnCards | None) -> bool:
    """Whether `patch`, what changed in the public view, is also what changed in the view
    of someone whose own cards were `before` and are `after`: they are the same, and the
    patch carries no whole array that would hold them (those go to them with their cards
    in). So a peer's vote is one frame for everyone but the voter."""
    if before is not after and before != after:
        return False
    if after is None:
        return True
    if after.current is not None and isinstance(patch.get("participants"), list):
        return False
    return not (after.rounds and "history" in patch)


def changes_of(
    patch: Json,
    old: Json,
    new: Json,
    viewer: AccountId,
    before: OwnCards | None,
    after: OwnCards | None,
) -> Json:
    """What changed in `viewer`'s view, given `patch`, what changed between the public JSON
    `old` and `new`, and the viewer's own cards `before` and `after`: the patch itself when
    it `shares`; else the patch with the two arrays own cards go into (the only parts of a
    view they touch) compared afresh."""
    if shares(patch, before, after):
        return patch
    card = _card_alone(patch, old, new, viewer, before, after)
    if card is not None:
        return card
    mine = dict(patch)
    old_view, new_view = with_own(old, viewer, before), with_own(new, viewer, after)
    for key in ("participants", "history"):
        mine.pop(key, None)
        if old_view[key] != new_view[key]:
            mine[key] = new_view[key]
    if "participants" in mine:
        mine["participants"] = _people(old_view["participants"], new_view["participants"])
    return mine


def _card_alone(
    patch: Json,
    old: Json,
    new: Json,
    viewer: AccountId,
    before: OwnCards | None,
    after: OwnCards | None,
) -> Json | None:
    """`changes_of` when, of the viewer's own cards, only the open round's changed while
    the round is open before and after (their vote: the commonest change of one's own)
    and the patch sends the participants as changes: the patch, with the viewer's own
    card put in. None otherwise."""
    participants = patch.get("participants")
    rounds = before.rounds if before is not None else ()
    if (
        isinstance(participants, list)
        or rounds != (after.rounds if after is not None else ())
        or (rounds and "history" in patch)
        or old["state"] != "voting"
        or new["state"] != "voting"
    ):
        return None
    # While the round is open nobody's card is public: one's own is the only one shown.
    you = str(viewer)
    people = dict(participants or {})
    people[you] = {**people.get(you, {}), "card": None if after is None else after.current}
    mine = dict(patch)
    mine["participants"] = people
    return mine


def _people(before: list[Json], after: list[Json]) -> list[Json] | dict[str, Json]:
    """The participants' change: per account id, the fields that changed, while the same
    people stay in the same order; else the whole new array."""
    if len(before) != len(after):
        return after
    changed = {}
    for p, q in zip(before, after, strict=True):
        if p is q:  # an unchanged participant keeps the very JSON it had
            continue
        account = q["accountId"]
        if p["accountId"] != account:
            return after
        if p != q:
            changed[account] = {f: v for f, v in q.items() if p.get(f) != v}
    return changed
