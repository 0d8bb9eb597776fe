"""The JSON wire format of the API: request bodies in, views out.

One private cattrs converter does the translation both ways, camelCase on the wire and
domain names inside; the domain classes carry no serialisation code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args, get_origin

import cattrs
from attrs import Factory, define, fields
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.consensus import Consensus, Spread, Suggestion, SuggestionRule
from agiletoolbox.domain.deck import CUSTOM, Card, Deck, standard_deck
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import (
    AccountId,
    FieldId,
    IssueKey,
    IssueTypeId,
    ProjectKey,
    RoomId,
    SessionId,
    TenantKey,
)
from agiletoolbox.domain.room import RoundTimer
from agiletoolbox.domain.session_summary import IssueRecord, SessionSummary
from agiletoolbox.domain.session_view import (
    AcceptanceFailure,
    AcceptanceView,
    PersonProgress,
    SessionConfigView,
    SessionIssueView,
    SessionLine,
    SessionList,
    SessionView,
)
from agiletoolbox.domain.view import (
    EstimateView,
    ParticipantView,
    RoomView,
    RoundView,
    VoteView,
)

_SNAKE = re.compile(r"\.([a-z]+(?:_[a-z]+)+)")
_IDS = (AccountId, FieldId, IssueKey, IssueTypeId, ProjectKey, RoomId, SessionId, TenantKey)


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
    """A custom deck: its cards. It has no name of its own (`name`, if sent, is
    `custom`): a free-text name could hold a person's name, which the app never keeps."""

    cards: list[CardBody]
    name: str = CUSTOM


@define
class ConfigBody:
    """Room settings; absent fields keep their current (or default) value."""

    deck: str | DeckBody | None = None
    field_id: str | None = None
    question_card: bool | None = None
    offline_voting: bool | None = None
    auto_reveal: bool | None = None
    comment_on_estimate: bool | None = None
    allow_take_control: bool | None = None
    persistent: bool | None = None
    value_map: dict[str, float] | None = None
    suggestion: Literal["auto", "most-common", "median", "mean"] | None = None
    reveal_on_timer: bool | None = None


@define
class CreateRoomBody(ConfigBody):
    """`POST /api/rooms`."""

    issue_key: str = ""
    issue_type_id: str | None = None
    save_as_default: bool = False


@define
class CreateSessionBody(ConfigBody):
    """`POST /api/sessions`: the project, its issue keys (the browser ran the JQL), the
    mode and the settings of every issue's room."""

    project_key: str = ""
    issue_keys: list[str] = Factory(list)
    mode: Literal["live", "async"] = "live"
    issue_type_id: str | None = None
    save_as_default: bool = False
    deadline: str | None = None
    """An async session's deadline, ISO-8601 with its offset (`2026-12-07T09:00:00Z`)."""


@define
class SessionIssuesBody:
    """`POST /api/sessions/{id}/issues`: issues to add, at `position` (else at the end)."""

    issue_keys: list[str]
    position: int | None = None


@define
class MoveBody:
    """`POST /api/sessions/{id}/move`: put an issue at `position` (0 is the top)."""

    issue_key: str
    position: int


@define
class CurrentBody:
    """`POST /api/sessions/{id}/current`: the issue to estimate now."""

    issue_key: str


@define
class JoinBody:
    """`POST /api/rooms/{id}/join`."""

    role: Literal["voter", "observer"] = "voter"


@define
class VoteBody:
    """`PUT /api/rooms/{id}/vote`: hold this card (holding it already changes nothing)."""

    card: str


@define
class RoundBody:
    """`POST /api/rooms/{id}/reveal` and `/reset`: the round the command is about. With it,
    a repeat of the command (a double click, a resend) changes nothing once that round is
    revealed or over; without it, the current round."""

    round: int | None = None


@define
class TimerBody:
    """`POST /api/rooms/{id}/timer` (start) and `/timer/extend`: how many seconds."""

    seconds: int


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
        return _structure_text(value, str)
    return _structure_number(value, float)


# Bidirectional controls reorder what is shown ("Trojan Source"): no field needs them.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_REFUSED_IN_TEXT = re.compile(f"[\x00\ud800-\udfff{_BIDI_CONTROLS}]")
"""What no text field may hold: NUL, lone surrogates, bidirectional controls."""


def _structure_text(value: object, _type: object) -> str:
    """Any text field: a string without NUL, lone surrogates or bidi controls (none of
    which a card, an id or a name needs, and PostgreSQL refuses the first two)."""
    if not isinstance(value, str):
        raise ValueError("expected str")  # noqa: TRY004 - its text reaches the client
    if _REFUSED_IN_TEXT.search(value):
        raise ValueError("must not contain NUL, lone surrogates or bidirectional controls")
    return value


def _structure_strict(kind: type) -> Any:
    def structure(value: object, _type: object) -> object:
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise ValueError(f"expected {kind.__name__}")
        return value

    return structure


DERIVED: Mapping[type, tuple[str, ...]] = {Card: ("special",)}
"""Properties a view class's JSON carries besides its fields (a special card never counts)."""

RENAMES: Mapping[tuple[type, str], str] = {
    (RoomView, "viewer"): "you",
    (RoundView, "number"): "round",
}
"""Fields whose name on the wire is not just their camelCase name."""


def wire_name(kind: type, name: str) -> str:
    """The JSON key of field `name` of the attrs class `kind`."""
    return RENAMES.get((kind, name)) or camel(name)


def _camel_overrides(kind: type) -> Any:
    return {a.name: override(rename=wire_name(kind, a.name)) for a in fields(kind)}


def _pairs(pairs: tuple[tuple[str, object], ...]) -> dict[str, object]:
    return dict(pairs)


def _make_converter() -> cattrs.Converter:
    # Sequences go out as lists: what JSON has, and what a view's parts are compared as.
    converter = cattrs.Converter(
        forbid_extra_keys=True, unstruct_collection_overrides={tuple: list}
    )
    converter.register_structure_hook(float, _structure_number)
    converter.register_structure_hook(str, _structure_text)
    converter.register_structure_hook(bool, _structure_strict(bool))
    converter.register_structure_hook(int, _structure_strict(int))
    converter.register_structure_hook_func(
        lambda t: t in (str | DeckBody | None, str | DeckBody), _structure_deck
    )
    converter.register_structure_hook_func(lambda t: t == str | float, _structure_text_or_number)
    # cattrs turns any iterable into a list (a string into its characters); the wire
    # wants an array and nothing else.
    for listed, refusal in (
        (list[CardBody], "expected an array of cards"),
        (list[str], "expected an array"),
    ):
        _arrays_only(converter, listed, refusal)
    for body in BODY_TYPES:
        converter.register_structure_hook(
            body,
            make_dict_structure_fn(
                body,
                converter,
                _cattrs_forbid_extra_keys=True,
                **_camel_overrides(body),
            ),
        )
    # Out: ids as their text, times in UTC, (name, number) pairs as objects, and every
    # view class with its fields renamed to the wire's names.
    for id_type in _IDS:
        converter.register_unstructure_hook(id_type, str)
    converter.register_unstructure_hook(datetime, _timestamp)
    converter.register_unstructure_hook(Role, lambda role: role.value)
    converter.register_unstructure_hook(SuggestionRule, lambda rule: rule.value)
    converter.register_unstructure_hook_func(
        lambda t: t in (tuple[tuple[str, float], ...], tuple[tuple[str, int], ...]), _pairs
    )
    for view in VIEW_TYPES:
        unstructure = make_dict_unstructure_fn(view, converter, **_camel_overrides(view))
        converter.register_unstructure_hook(view, _with_derived(unstructure, DERIVED.get(view)))
    return converter


def _arrays_only(converter: cattrs.Converter, listed: Any, refusal: str) -> None:
    """Structure `listed` (a `list[...]` type) from a JSON array only."""
    any_iterable = converter.get_structure_hook(listed)

    def structure(value: object, kind: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(refusal)  # noqa: TRY004 - its text reaches the client
        return any_iterable(value, kind)

    converter.register_structure_hook_func(lambda t: t == listed, structure)


def _with_derived(unstructure: Any, derived: tuple[str, ...] | None) -> Any:
    if not derived:
        return unstructure

    def with_derived(value: Any) -> dict[str, Any]:
        rendered: dict[str, Any] = unstructure(value)
        for name in derived:
            rendered[camel(name)] = getattr(value, name)
        return rendered

    return with_derived


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def server_now() -> str:
    """This server's clock, as the API writes times (ISO 8601, UTC)."""
    return _timestamp(datetime.now(UTC))


BODY_TYPES = (
    CardBody,
    DeckBody,
    ConfigBody,
    CreateRoomBody,
    CreateSessionBody,
    SessionIssuesBody,
    MoveBody,
    CurrentBody,
    JoinBody,
    VoteBody,
    RoundBody,
    TimerBody,
    EstimateBody,
)
"""Every request body class."""
VIEW_TYPES = (
    Card,
    Deck,
    Spread,
    Suggestion,
    Consensus,
    RoundTimer,
    VoteView,
    RoundView,
    ParticipantView,
    EstimateView,
    RoomView,
    SessionConfigView,
    SessionIssueView,
    PersonProgress,
    SessionView,
    AcceptanceFailure,
    AcceptanceView,
    SessionLine,
    SessionList,
    IssueRecord,
    SessionSummary,
)
"""Every class a view is made of, each sent as an object with its fields renamed (parts
before the wholes: a class's hook is made with the hooks of its parts)."""


def unstructure(value: object) -> Any:
    """`value` (a view or a part of one) as JSON-ready Python values."""
    return _converter.unstructure(value)


def unstructure_as(value: object, kind: Any) -> Any:
    """`value`, of the type `kind` (a field's type), as JSON-ready Python values."""
    return _converter.unstructure(value, unstructure_as=kind)


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


def room_config(body: ConfigBody, base: RoomConfig) -> RoomConfig:
    """The configuration a body asks for, on top of `base` (raises domain errors)."""
    deck = base.deck
    if isinstance(body.deck, str):
        deck = standard_deck(body.deck)
    elif isinstance(body.deck, DeckBody):
        if body.deck.name != CUSTOM:
            raise BodyError(
                [f"a custom deck has no name of its own; send {CUSTOM!r} or none @ body.deck.name"]
            )
        deck = Deck.custom((c.label, c.value) for c in body.deck.cards)
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
        comment_on_estimate=_pick(body.comment_on_estimate, base.comment_on_estimate),
        allow_take_control=_pick(body.allow_take_control, base.allow_take_control),
        persistent=_pick(body.persistent, base.persistent),
        value_map=value_map,
        suggestion=base.suggestion if body.suggestion is None else SuggestionRule(body.suggestion),
        reveal_on_timer=_pick(body.reveal_on_timer, base.reveal_on_timer),
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
