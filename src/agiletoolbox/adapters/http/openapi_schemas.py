"""The JSON Schemas of the OpenAPI document, derived from the classes the converter reads
and writes: request bodies from the wire classes, views from the domain's view classes,
socket commands from the command table. What the domain checks beyond the Python type (an
id's shape, a deck's name, a label's length) is added per field.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import attrs

from agiletoolbox.adapters.http.commands import COMMANDS
from agiletoolbox.adapters.http.wire import (
    DERIVED,
    CardBody,
    ConfigBody,
    CreateRoomBody,
    CreateSessionBody,
    CurrentBody,
    DeckBody,
    EstimateBody,
    JoinBody,
    MoveBody,
    RoundBody,
    SessionIssuesBody,
    TimerBody,
    VoteBody,
    camel,
    wire_name,
)
from agiletoolbox.domain.consensus import Consensus, Spread, Suggestion, SuggestionRule
from agiletoolbox.domain.deck import (
    CUSTOM,
    DECK_NAMES,
    MAX_CARD_VALUE,
    MAX_CARDS,
    MAX_LABEL_LENGTH,
    STANDARD_DECKS,
    Card,
    Deck,
)
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, ProjectKey, RoomId, SessionId
from agiletoolbox.domain.room import MAX_TIMER_SECONDS, RoundTimer
from agiletoolbox.domain.session import MAX_QUEUE
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

JsonSchema = dict[str, Any]

# The domain's id shapes (agiletoolbox.domain.ids), anchored as JSON Schema wants them.
ISSUE_KEY_PATTERN = "^[A-Z][A-Z0-9_]*-[1-9][0-9]*$"
ROOM_ID_PATTERN = "^[A-Za-z0-9_-]{16,64}$"
FIELD_ID_PATTERN = "^(customfield_[1-9][0-9]{0,17}|[a-z][a-zA-Z0-9]{0,63})$"
ISSUE_TYPE_ID_PATTERN = "^[1-9][0-9]{0,17}$"
ACCOUNT_ID_PATTERN = "^[!-~]{1,128}$"
PROJECT_KEY_PATTERN = "^[A-Z][A-Z0-9_]*$"

BODIES: Mapping[type, str] = {
    CardBody: "CustomCard",
    DeckBody: "CustomDeck",
    ConfigBody: "Configure",
    CreateRoomBody: "CreateRoom",
    JoinBody: "Join",
    VoteBody: "Vote",
    RoundBody: "RoundCommand",
    TimerBody: "Timer",
    EstimateBody: "Estimate",
    CreateSessionBody: "CreateSession",
    SessionIssuesBody: "SessionIssues",
    MoveBody: "SessionMove",
    CurrentBody: "SessionCurrent",
}
"""Every request body class and the name of its schema in the document."""

VIEWS: Mapping[type, str] = {
    RoomView: "Room",
    ParticipantView: "Participant",
    Deck: "Deck",
    Card: "Card",
    Consensus: "Results",
    Spread: "Spread",
    Suggestion: "Suggestion",
    RoundTimer: "RoundTimer",
    EstimateView: "AcceptedEstimate",
    RoundView: "Round",
    VoteView: "RoundVote",
    SessionView: "Session",
    SessionIssueView: "SessionIssue",
    SessionConfigView: "SessionConfig",
    SessionLine: "SessionLine",
    SessionList: "SessionList",
    SessionSummary: "SessionSummary",
    IssueRecord: "SessionSummaryIssue",
    PersonProgress: "SessionProgress",
    AcceptanceView: "Acceptance",
    AcceptanceFailure: "AcceptanceFailure",
}
"""Every class a view is made of and the name of its schema in the document."""

_LABEL: JsonSchema = {"minLength": 1, "maxLength": MAX_LABEL_LENGTH}
# What the domain checks beyond the Python type: (class, field) -> keywords per branch type.
_RULES: Mapping[tuple[type, str], Mapping[object, JsonSchema]] = {
    (CardBody, "label"): {str: _LABEL},
    (CardBody, "value"): {float: {"minimum": 0, "maximum": MAX_CARD_VALUE}},
    (DeckBody, "name"): {str: {"enum": [CUSTOM]}},
    (DeckBody, "cards"): {list: {"minItems": 1, "maxItems": MAX_CARDS}},
    (ConfigBody, "deck"): {str: {"enum": list(STANDARD_DECKS)}},
    (ConfigBody, "field_id"): {str: {"pattern": FIELD_ID_PATTERN}},
    (CreateRoomBody, "issue_key"): {str: {"pattern": ISSUE_KEY_PATTERN, "maxLength": 255}},
    (CreateRoomBody, "issue_type_id"): {str: {"pattern": ISSUE_TYPE_ID_PATTERN}},
    (CreateSessionBody, "project_key"): {str: {"pattern": PROJECT_KEY_PATTERN, "maxLength": 255}},
    (CreateSessionBody, "issue_keys"): {list: {"maxItems": MAX_QUEUE}},
    (CreateSessionBody, "deadline"): {str: {"format": "date-time"}},
    (SessionIssuesBody, "issue_keys"): {list: {"minItems": 1, "maxItems": MAX_QUEUE}},
    (SessionIssuesBody, "position"): {int: {"minimum": 0}},
    (MoveBody, "issue_key"): {str: {"pattern": ISSUE_KEY_PATTERN}},
    (MoveBody, "position"): {int: {"minimum": 0}},
    (CurrentBody, "issue_key"): {str: {"pattern": ISSUE_KEY_PATTERN}},
    (VoteBody, "card"): {str: _LABEL},
    (RoundBody, "round"): {int: {"minimum": 1}},
    (TimerBody, "seconds"): {int: {"minimum": 1, "maximum": MAX_TIMER_SECONDS}},
}
_POSITIVE: JsonSchema = {"minimum": 1}
_POSITIVE_INT: JsonSchema = {"type": "integer", **_POSITIVE}
_VIEW_RULES: Mapping[tuple[type, str], Mapping[object, JsonSchema]] = {
    (Deck, "name"): {str: {"enum": sorted(DECK_NAMES)}},
    (RoomView, "version"): {int: _POSITIVE},
    (RoomView, "round"): {int: _POSITIVE},
    (RoundView, "number"): {int: _POSITIVE},
    (EstimateView, "round"): {int: _POSITIVE},
    (Consensus, "count"): {int: {"minimum": 0}},
    (Consensus, "agreement"): {float: {"minimum": 0, "maximum": 1}},
    (Consensus, "specials"): {int: _POSITIVE},
}
_ID_PATTERNS: Mapping[type, str] = {
    AccountId: ACCOUNT_ID_PATTERN,
    FieldId: FIELD_ID_PATTERN,
    IssueKey: ISSUE_KEY_PATTERN,
    RoomId: ROOM_ID_PATTERN,
    SessionId: ROOM_ID_PATTERN,
    ProjectKey: PROJECT_KEY_PATTERN,
}
# Fields the class must default (attrs orders inherited defaults) but the API requires.
_REQUIRED: Mapping[type, tuple[str, ...]] = {
    CreateRoomBody: ("issueKey",),
    CreateSessionBody: ("projectKey",),
}
_SCALARS: Mapping[object, str] = {
    str: "string",
    bool: "boolean",
    float: "number",
    int: "integer",
    type(None): "null",
}


def ref(name: str) -> JsonSchema:
    """A reference to a schema of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def _type_schema(  # noqa: PLR0911 - one answer per kind of type
    kind: object, rules: Mapping[object, JsonSchema], names: Mapping[type, str] = BODIES
) -> JsonSchema:
    """The JSON Schema of a Python type as the HTTP converter structures or unstructures
    it; the classes of `names` are references to their schemas."""
    origin, args = get_origin(kind), get_args(kind)
    if kind in _SCALARS:
        return {"type": _SCALARS[kind], **rules.get(kind, {})}
    if isinstance(kind, type) and kind in _ID_PATTERNS:
        return {"type": "string", "pattern": _ID_PATTERNS[kind]}
    if kind is datetime:
        return {"type": "string", "format": "date-time"}
    if isinstance(kind, type) and issubclass(kind, Enum):
        return {"type": "string", "enum": [member.value for member in kind]}
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin is tuple and get_origin(args[0]) is tuple:  # (name, number) pairs: an object
        return {"type": "object", "additionalProperties": _type_schema(get_args(args[0])[1], rules)}
    if origin in (list, tuple):
        items = _type_schema(args[0], {}, names)
        return {"type": "array", "items": items, **rules.get(list, {})}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1], {})}
    if origin in (Union, types.UnionType):
        return _union([_type_schema(arg, rules, names) for arg in args])
    if isinstance(kind, type) and kind in names:
        return ref(names[kind])
    raise TypeError(f"no JSON Schema for {kind!r}")


def _union(branches: list[JsonSchema]) -> JsonSchema:
    """One of `branches`: a list of types where they differ in type alone."""
    plain = [b for b in branches if set(b) == {"type"}]
    if len(plain) == len(branches):
        return {"type": [b["type"] for b in branches]}
    if len(branches) == 2 and {"type": "null"} in branches:
        (other,) = [b for b in branches if b != {"type": "null"}]
        if "type" in other and "$ref" not in other:
            choices = {"enum": [*other["enum"], None]} if "enum" in other else {}
            return {**other, "type": [other["type"], "null"], **choices}
    return {"anyOf": branches}


def body_schema(kind: type, *, refined: bool = True) -> JsonSchema:
    """The JSON Schema of a request body class: camelCase keys, no other key accepted.

    `refined=False` leaves out what the domain checks beyond the shape (patterns, deck
    names, lengths): what is left is exactly what the converter checks.
    """
    hints = get_type_hints(kind)
    properties: JsonSchema = {}
    required: list[str] = list(_REQUIRED.get(kind, ()) if refined else ())
    for field in attrs.fields(kind):
        keys = [(c, field.name) for c in kind.__mro__ if (c, field.name) in _RULES]
        rules = _RULES[keys[0]] if keys and refined else {}
        properties[camel(field.name)] = _type_schema(hints[field.name], rules)
        if field.default is attrs.NOTHING:
            required.append(camel(field.name))
    schema: JsonSchema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def view_schema(kind: type) -> JsonSchema:
    """The JSON Schema of a view class as the converter writes it: every field, under its
    wire name, and nothing else."""
    hints = get_type_hints(kind)
    properties = {
        wire_name(kind, field.name): _type_schema(
            hints[field.name], _VIEW_RULES.get((kind, field.name), {}), VIEWS
        )
        for field in attrs.fields(kind)
    }
    for name in DERIVED.get(kind, ()):
        returned = get_type_hints(getattr(kind, name).fget)["return"]
        properties[camel(name)] = _type_schema(returned, {}, VIEWS)
    return _closed(**properties)


def _closed(**properties: JsonSchema) -> JsonSchema:
    """An object that has exactly these properties."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _nullable(schema: JsonSchema) -> JsonSchema:
    return {"anyOf": [schema, {"type": "null"}]}


TEXT: JsonSchema = {"type": "string"}
TEXT_OR_NULL: JsonSchema = {"type": ["string", "null"]}
_BOOL: JsonSchema = {"type": "boolean"}
_INT: JsonSchema = {"type": "integer", "minimum": 0}
_NUMBER: JsonSchema = {"type": "number"}
_NUMBER_OR_NULL: JsonSchema = {"type": ["number", "null"]}
_ACCOUNT: JsonSchema = {"type": "string", "pattern": ACCOUNT_ID_PATTERN}
_VALUE_MAP: JsonSchema = {"type": "object", "additionalProperties": _NUMBER}


def view_schemas() -> dict[str, JsonSchema]:
    """The schemas of what the API answers."""
    settings = {
        "fieldId": {"type": ["string", "null"], "pattern": FIELD_ID_PATTERN},
        "questionCard": _BOOL,
        "offlineVoting": _BOOL,
        "autoReveal": _BOOL,
        "allowTakeControl": _BOOL,
        "persistent": _BOOL,
        "valueMap": _VALUE_MAP,
        "suggestion": {"type": "string", "enum": [rule.value for rule in SuggestionRule]},
        "revealOnTimer": _BOOL,
        "commentOnEstimate": _BOOL,
    }
    return {
        **{name: view_schema(kind) for kind, name in VIEWS.items()},
        "RoomDefaults": _closed(
            deck=_closed(
                name=TEXT,
                cards={"type": "array", "items": _closed(label=TEXT, value=_NUMBER_OR_NULL)},
            ),
            **settings,
        ),
        "Defaults": _closed(defaults=_nullable(ref("RoomDefaults"))),
        "Removed": _closed(removed={"type": "string", "pattern": ROOM_ID_PATTERN}),
        "SessionRemoved": _closed(removed={"type": "string", "pattern": ROOM_ID_PATTERN}),
        "Ticket": {
            "type": "object",
            "properties": {
                "ticket": {"type": "string", "minLength": 1},
                # The server's clock when it answered: pages time the round against it.
                "now": {"type": "string", "format": "date-time"},
                # Where the socket connects: this deployment (its region's) base URL.
                "baseUrl": {"type": "string", "format": "uri"},
            },
            "required": ["ticket", "now"],
            "additionalProperties": False,
        },
        "Error": _closed(
            error={
                "type": "object",
                "properties": {
                    "code": TEXT,
                    "message": TEXT,
                    "details": {"type": "array", "items": TEXT},
                    "incident": TEXT,
                    "retryAfter": {"type": "integer", "minimum": 1},
                },
                "required": ["code", "message"],
                "additionalProperties": False,
            }
        ),
        **_live_schemas(),
    }


def _changes_schema() -> JsonSchema:
    """What a `patch` message's `room` holds: any of the room's fields (its version
    always), and the participants whole or as the changed fields of each account id."""
    room = view_schema(RoomView)
    participant = view_schema(ParticipantView)
    changed = {**participant, "required": []}
    properties = dict(room["properties"])
    properties["participants"] = {
        "anyOf": [
            properties["participants"],
            {"type": "object", "additionalProperties": changed},
        ]
    }
    return {**room, "properties": properties, "required": ["version"]}


def _live_schemas() -> dict[str, JsonSchema]:
    """The messages of the live socket (documented here, exchanged after the upgrade)."""
    any_id: JsonSchema = {"description": "any JSON value; echoed in the answer"}

    def command(op: str, body: type | None = None) -> JsonSchema:
        schema = body_schema(body) if body is not None else {"properties": {}}
        return {
            "type": "object",
            "properties": {"op": {"const": op}, "id": any_id, **schema["properties"]},
            "required": ["op", *schema.get("required", [])],
            "additionalProperties": False,
        }

    sync = command("sync")
    sync["properties"]["version"] = _INT
    acked: JsonSchema = {**any_id, "description": "the id of the command this answers too"}

    def shows(kind: str, **properties: JsonSchema) -> JsonSchema:
        return {
            "type": "object",
            "properties": {"type": {"const": kind}, **properties, "ack": acked},
            "required": ["type", *properties],
            "additionalProperties": False,
        }

    return {
        "RoomChanges": _changes_schema(),
        "LiveCommand": {
            "oneOf": [*(command(c.op, c.body) for c in COMMANDS), sync],
        },
        "LiveMessage": {
            "oneOf": [
                shows("room", room=ref("Room")),
                shows(
                    "patch", **{"from": {"type": "integer", "minimum": 1}}, room=ref("RoomChanges")
                ),
                _closed(type={"const": "ack"}, id=any_id),
                _closed(
                    type={"const": "error"},
                    id=any_id,
                    error={
                        **_closed(status={"type": "integer"}, code=TEXT, message=TEXT),
                        # A command over the socket's rate (status 429): when to send again.
                        "properties": {
                            "status": {"type": "integer"},
                            "code": TEXT,
                            "message": TEXT,
                            "retryAfter": {"type": "integer", "minimum": 1},
                        },
                    },
                ),
                _closed(type={"const": "removed"}),
            ]
        },
    }
