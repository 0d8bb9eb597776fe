"""A room as the JSON the API sends: a person's whole view, or what changed in it.

The JSON of a view is the public view's (`domain.view.public_view`, rendered once per
change for everyone) with the viewer's own cards put in (`with_own`). Between two
versions a person is sent only what changed (`changes`): the top-level fields that
differ, and the participants as an object of what changed per account id while nobody
joined or left (the whole array otherwise). A vote thus costs each peer a few dozen bytes.
"""

from __future__ import annotations

from typing import Any

from agiletoolbox.adapters.http.wire import unstructure
from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.view import OwnCards, own_cards, public_view

Json = dict[str, Any]


def public_json(room: Room) -> Json:
    """The room as anyone may see it, as JSON (`you` is null)."""
    rendered: Json = unstructure(public_view(room))
    return rendered


def with_own(public: Json, own: OwnCards) -> Json:
    """The public JSON as `own.viewer` sees it: their own cards put in (copies what it
    changes, so the public JSON stays as it was)."""
    view = dict(public)
    viewer = str(own.viewer)
    view["you"] = viewer
    if own.current is not None:
        view["participants"] = [
            {**p, "card": own.current} if p["accountId"] == viewer else p
            for p in public["participants"]
        ]
    if own.rounds:
        mine = dict(own.rounds)
        view["history"] = [
            {
                **record,
                "votes": [
                    {**v, "card": mine[record["round"]]} if v["accountId"] == viewer else v
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
    return with_own(public_json(room), own_cards(room, viewer))


def changes(old: Json, new: Json) -> Json:
    """What to apply to the view `old` to get the view `new` (`version` always included).

    Top-level fields are replaced whole, except `participants` while the same people
    stay in the same order: then an object maps each account id whose entry changed to
    the fields that changed.
    """
    patch: Json = {}
    for key, value in new.items():
        before = old.get(key)
        if value is before or value == before:
            continue
        if key == "participants" and isinstance(before, list) and _same_people(before, value):
            patch[key] = {
                after["accountId"]: {f: v for f, v in after.items() if prior.get(f) != v}
                for prior, after in zip(before, value, strict=True)
                if prior != after
            }
        else:
            patch[key] = value
    patch["version"] = new["version"]
    return patch


def _same_people(before: list[Json], after: list[Json]) -> bool:
    return len(before) == len(after) and all(
        p["accountId"] == q["accountId"] for p, q in zip(before, after, strict=True)
    )


def has_own(own: OwnCards | None) -> bool:
    """Whether the viewer holds cards the public view does not show."""
    return own is not None and (own.current is not None or bool(own.rounds))
