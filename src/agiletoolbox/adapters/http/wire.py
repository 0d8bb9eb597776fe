"""The JSON wire format of the API: request bodies in, room views out.

One private cattrs converter does the translation, camelCase on the wire and domain
names inside; the domain classes carry no serialisation code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args, get_origin

import cattrs
from attrs import define, fields
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.consensus import Consensus
from agiletoolbox.domain.deck import Card, Deck, standard_deck
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.estimate import Estimate
from agiletoolbox.domain.ids import (
    AccountId,
    FieldId,
    IssueKey,
    IssueTypeId,
    ProjectKey,
    RoomId,
    TenantKey,
)
from agiletoolbox.domain.view import ParticipantView, RoomView, RoundView

_SNAKE = re.compile(r"\.([a-z]+(?:_[a-z]+)+)")
_IDS = (AccountId, FieldId, IssueKey, IssueTypeId, ProjectKey, RoomId, TenantKey)


def camel(name: str) -> str:
    """`issue_key` -> `issueKey`."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# -- request bodies ----------------------------------------------------------------------


@define
class CardBody:
    """A card of a custom deck."""

    label: str
    value: float | None = None


@define
class DeckBody:
    """A custom deck."""

    name: str
    cards: list[CardBody]


@define
class ConfigBody:
    """Room settings; absent fields keep their current (or default) value."""

    deck: str | DeckBody | None = None
    field_id: str | None = None
    question_card: bool | None = None
    offline_voting: bool | None = None
    auto_reveal: bool | None = None
    allow_take_control: bool | None = None
    persistent: bool | None = None
    value_map: dict[str, float] | None = None


@define
class CreateRoomBody(ConfigBody):
    """`POST /api/rooms`."""

    issue_key: str = ""
    issue_type_id: str | None = None
    save_as_default: bool = False


@define
class JoinBody:
    """`POST /api/rooms/{id}/join`."""

    role: Literal["voter", "observer"] = "voter"


@define
class VoteBody:
    """`PUT /api/rooms/{id}/vote`."""

    card: str


@define
class EstimateBody:
    """`POST /api/rooms/{id}/estimate`."""

    value: str | float


def _structure_deck(value: object, _type: object) -> str | DeckBody | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return _converter.structure(value, DeckBody)
    raise ValueError("a deck is a standard deck's name or an object with name and cards")


def _structure_number(value: object, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("expected a number")
    return float(value)


def _structure_text_or_number(value: object, _type: object) -> str | float:
    if isinstance(value, str):
        return value
    return _structure_number(value, float)


def _structure_strict(kind: type) -> Any:
    def structure(value: object, _type: object) -> object:
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise ValueError(f"expected {kind.__name__}")
        return value

    return structure


def _camel_overrides(kind: type) -> Any:
    return {a.name: override(rename=camel(a.name)) for a in fields(kind)}


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(float, _structure_number)
    converter.register_structure_hook(str, _structure_strict(str))
    converter.register_structure_hook(bool, _structure_strict(bool))
    converter.register_structure_hook(int, _structure_strict(int))
    converter.register_structure_hook_func(
        lambda t: t in (str | DeckBody | None, str | DeckBody), _structure_deck
    )
    converter.register_structure_hook_func(lambda t: t == str | float, _structure_text_or_number)
    # cattrs turns any iterable into a list; the wire wants an array and nothing else.
    any_iterable = converter.get_structure_hook(list[CardBody])

    def structure_cards(value: object, kind: Any) -> list[CardBody]:
        if not isinstance(value, list):
            raise ValueError("expected an array of cards")  # noqa: TRY004 - its text reaches the client
        cards: list[CardBody] = any_iterable(value, kind)
        return cards

    converter.register_structure_hook_func(lambda t: t == list[CardBody], structure_cards)
    for body in (CardBody, DeckBody, ConfigBody, CreateRoomBody, JoinBody, VoteBody, EstimateBody):
        converter.register_structure_hook(
            body,
            make_dict_structure_fn(
                body,
                converter,
                _cattrs_forbid_extra_keys=True,
                **_camel_overrides(body),
            ),
        )
    for id_type in _IDS:
        converter.register_unstructure_hook(id_type, str)
    converter.register_unstructure_hook(datetime, _timestamp)
    converter.register_unstructure_hook(Role, lambda role: role.value)
    converter.register_unstructure_hook(Deck, _deck)
    converter.register_unstructure_hook(Consensus, _results)
    converter.register_unstructure_hook(Estimate, _estimate)
    converter.register_unstructure_hook(RoundView, _round)
    converter.register_unstructure_hook(
        ParticipantView,
        make_dict_unstructure_fn(
            ParticipantView,
            converter,
            **_camel_overrides(ParticipantView),
        ),
    )
    return converter


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _deck(deck: Deck) -> dict[str, object]:
    return {
        "name": deck.name,
        "cards": [{"label": c.label, "value": c.value, "special": c.special} for c in deck.cards],
    }


def _results(result: Consensus) -> dict[str, object]:
    return {
        "count": result.count,
        "mean": result.mean,
        "median": result.median,
        "modes": list(result.modes),
        "agreement": result.agreement,
        "spread": None
        if result.spread is None
        else {"min": result.spread.min, "max": result.spread.max},
        "closestCard": result.closest_card,
        "outliers": [str(who) for who in result.outliers],
        "unanimous": result.unanimous,
        "specials": dict(result.specials),
    }


def _estimate(estimate: Estimate) -> dict[str, object]:
    return {
        "value": estimate.value.label,
        "number": estimate.value.number,
        "fieldId": str(estimate.field_id),
        "round": estimate.round,
        "acceptedBy": None if estimate.accepted_by is None else str(estimate.accepted_by),
        "acceptedAt": _timestamp(estimate.accepted_at),
        "written": estimate.written,
    }


def _round(record: RoundView) -> dict[str, object]:
    return {
        "round": record.number,
        "revealed": record.revealed,
        "votes": [{"accountId": str(who), "card": card} for who, card in record.votes],
        "results": None if record.results is None else _results(record.results),
        "estimate": record.estimate,
    }


_converter = _make_converter()


class BodyError(ValueError):
    """A request body that does not have the documented shape; `details` says where."""

    def __init__(self, details: list[str]) -> None:
        super().__init__("; ".join(details))
        self.details = details


def structure(body: object, kind: type[Any]) -> Any:
    """A request body as `kind`, or `BodyError` listing every problem with its path."""
    if not isinstance(body, dict):
        raise BodyError(["the body must be a JSON object @ body"])
    try:
        return _converter.structure(body, kind)
    except (cattrs.ClassValidationError, cattrs.IterableValidationError) as error:
        messages = cattrs.transform_error(error, path="body", format_exception=_describe)
        raise BodyError(_readable(messages)) from None
    except (ValueError, TypeError, AttributeError) as error:
        raise BodyError([f"{error} @ body"]) from None


def _describe(error: BaseException, kind: type[Any] | None) -> str:
    if isinstance(error, KeyError):
        return "required field missing"
    if isinstance(error, cattrs.ForbiddenExtraKeysError):
        return f"unknown fields ({', '.join(sorted(error.extra_fields))})"
    if get_origin(kind) is Literal:
        return "must be one of " + ", ".join(map(str, get_args(kind)))
    if isinstance(error, ValueError) and str(error):
        return str(error)
    return "invalid value"


def _readable(messages: list[str]) -> list[str]:
    # cattrs speaks of Python names; the wire speaks camelCase.
    return [_SNAKE.sub(lambda m: "." + camel(m.group(1)), message) for message in messages]


Memo = dict[int, Any]
"""Parts already rendered, by the identity of what they render (`room_view`)."""


def room_view(view: RoomView, memo: Memo | None = None) -> dict[str, object]:
    """The JSON object of a room as its viewer may see it.

    Views made together (`views_of`) share their deck, results, history and most
    participants; with one `memo` for all of them (and alive no longer than they are),
    each shared part is rendered once and the JSON objects share it.
    """

    def once(part: Any, render: Callable[[Any], Any]) -> Any:
        if memo is None:
            return render(part)
        key = id(part)
        if key not in memo:
            memo[key] = render(part)
        return memo[key]

    return {
        "id": str(view.id),
        "issueKey": str(view.issue_key),
        "version": view.version,
        "state": view.state,
        "owner": None if view.owner is None else str(view.owner),
        "ownerPresent": view.owner_present,
        "you": str(view.viewer),
        "deck": once(view.deck, _deck),
        "fieldId": None if view.field_id is None else str(view.field_id),
        "questionCard": view.question_card,
        "offlineVoting": view.offline_voting,
        "autoReveal": view.auto_reveal,
        "allowTakeControl": view.allow_take_control,
        "persistent": view.persistent,
        "valueMap": dict(view.value_map),
        "round": view.round,
        "participants": [once(p, _converter.unstructure) for p in view.participants],
        "results": None if view.results is None else once(view.results, _results),
        "estimate": None if view.estimate is None else _estimate(view.estimate),
        "history": [once(record, _round) for record in view.history],
    }


def room_config(body: ConfigBody, base: RoomConfig) -> RoomConfig:
    """The configuration a body asks for, on top of `base` (raises domain errors)."""
    deck = base.deck
    if isinstance(body.deck, str):
        deck = standard_deck(body.deck)
    elif isinstance(body.deck, DeckBody):
        deck = Deck(body.deck.name, tuple(Card(c.label, c.value) for c in body.deck.cards))
    field_id = base.field_id if body.field_id is None else FieldId(body.field_id)
    value_map: Mapping[str, float] | tuple[tuple[str, float], ...] = (
        base.value_map if body.value_map is None else body.value_map
    )
    if body.deck is not None and body.value_map is None and deck != base.deck:
        value_map = ()
    return RoomConfig(
        deck=deck,
        field_id=field_id,
        question_card=_pick(body.question_card, base.question_card),
        offline_voting=_pick(body.offline_voting, base.offline_voting),
        auto_reveal=_pick(body.auto_reveal, base.auto_reveal),
        allow_take_control=_pick(body.allow_take_control, base.allow_take_control),
        persistent=_pick(body.persistent, base.persistent),
        value_map=value_map,
    )


def estimate_text(body: EstimateBody) -> str:
    """The estimate as typed: numbers become their shortest decimal text."""
    if isinstance(body.value, str):
        return body.value
    if not math.isfinite(body.value):
        raise InvalidValue("the estimate must be a finite number")
    return str(int(body.value)) if float(body.value).is_integer() else repr(body.value)


def _pick(value: bool | None, default: bool) -> bool:
    return default if value is None else value
