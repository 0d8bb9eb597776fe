"""The JSON Schemas of the OpenAPI document: request bodies derived from the wire classes,
and the answers (the room view, errors, live socket messages) as the handlers send them.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import attrs

from agiletoolbox.adapters.http.wire import (
    CardBody,
    ConfigBody,
    CreateRoomBody,
    DeckBody,
    EstimateBody,
    JoinBody,
    VoteBody,
    camel,
)
from agiletoolbox.domain.deck import MAX_CARD_VALUE, MAX_CARDS, MAX_LABEL_LENGTH, STANDARD_DECKS

JsonSchema = dict[str, Any]

# The domain's id shapes (agiletoolbox.domain.ids), anchored as JSON Schema wants them.
ISSUE_KEY_PATTERN = "^[A-Z][A-Z0-9_]*-[1-9][0-9]*$"
ROOM_ID_PATTERN = "^[A-Za-z0-9_-]{16,64}$"
FIELD_ID_PATTERN = "^(customfield_[1-9][0-9]{0,17}|[a-z][a-zA-Z0-9]{0,63})$"
ISSUE_TYPE_ID_PATTERN = "^[1-9][0-9]{0,17}$"
ACCOUNT_ID_PATTERN = "^[!-~]{1,128}$"

BODIES: Mapping[type, str] = {
    CardBody: "CustomCard",
    DeckBody: "CustomDeck",
    ConfigBody: "Configure",
    CreateRoomBody: "CreateRoom",
    JoinBody: "Join",
    VoteBody: "Vote",
    EstimateBody: "Estimate",
}
"""Every request body class and the name of its schema in the document."""

_LABEL: JsonSchema = {"minLength": 1, "maxLength": MAX_LABEL_LENGTH}
# What the domain checks beyond the Python type: (class, field) -> keywords per branch type.
_RULES: Mapping[tuple[type, str], Mapping[object, JsonSchema]] = {
    (CardBody, "label"): {str: _LABEL},
    (CardBody, "value"): {float: {"minimum": 0, "maximum": MAX_CARD_VALUE}},
    (DeckBody, "name"): {str: {"minLength": 1, "maxLength": 64, "pattern": "\\S"}},
    (DeckBody, "cards"): {list: {"minItems": 1, "maxItems": MAX_CARDS}},
    (ConfigBody, "deck"): {str: {"enum": list(STANDARD_DECKS)}},
    (ConfigBody, "field_id"): {str: {"pattern": FIELD_ID_PATTERN}},
    (CreateRoomBody, "issue_key"): {str: {"pattern": ISSUE_KEY_PATTERN, "maxLength": 255}},
    (CreateRoomBody, "issue_type_id"): {str: {"pattern": ISSUE_TYPE_ID_PATTERN}},
    (VoteBody, "card"): {str: _LABEL},
}
# Fields the class must default (attrs orders inherited defaults) but the API requires.
_REQUIRED: Mapping[type, tuple[str, ...]] = {CreateRoomBody: ("issueKey",)}
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
    kind: object, rules: Mapping[object, JsonSchema]
) -> JsonSchema:
    """The JSON Schema of a Python type as the HTTP converter structures it."""
    origin, args = get_origin(kind), get_args(kind)
    if kind in _SCALARS:
        return {"type": _SCALARS[kind], **rules.get(kind, {})}
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0], {}), **rules.get(list, {})}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1], {})}
    if origin in (Union, types.UnionType):
        branches = [_type_schema(arg, rules) for arg in args]
        if all(set(branch) == {"type"} for branch in branches):
            return {"type": [branch["type"] for branch in branches]}
        return {"anyOf": branches}
    if isinstance(kind, type) and kind in BODIES:
        return ref(BODIES[kind])
    raise TypeError(f"no JSON Schema for {kind!r}")


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
    }
    results = _closed(
        count=_INT,
        mean=_NUMBER_OR_NULL,
        median={"type": ["number", "string", "null"]},
        modes={"type": "array", "items": TEXT},
        agreement={"type": "number", "minimum": 0, "maximum": 1},
        spread=_nullable(_closed(min=TEXT, max=TEXT)),
        closestCard=TEXT_OR_NULL,
        outliers={"type": "array", "items": _ACCOUNT},
        unanimous=_BOOL,
        specials={"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
    )
    return {
        "Card": _closed(label=TEXT, value=_NUMBER_OR_NULL, special=_BOOL),
        "Deck": _closed(name=TEXT, cards={"type": "array", "items": ref("Card")}),
        "Participant": _closed(
            accountId=_ACCOUNT,
            role={"type": "string", "enum": ["voter", "observer"]},
            online=_BOOL,
            voted=_BOOL,
            card=TEXT_OR_NULL,
        ),
        "Results": results,
        "AcceptedEstimate": _closed(
            value=TEXT,
            number=_NUMBER_OR_NULL,
            fieldId={"type": "string", "pattern": FIELD_ID_PATTERN},
            round={"type": "integer", "minimum": 1},
            acceptedBy={"type": ["string", "null"], "pattern": ACCOUNT_ID_PATTERN},
            acceptedAt={"type": "string", "format": "date-time"},
            written=_BOOL,
        ),
        "Round": _closed(
            round={"type": "integer", "minimum": 1},
            revealed=_BOOL,
            votes={
                "type": "array",
                "items": _closed(accountId=_ACCOUNT, card=TEXT_OR_NULL),
            },
            results=_nullable(ref("Results")),
            estimate=TEXT_OR_NULL,
        ),
        "Room": _closed(
            id={"type": "string", "pattern": ROOM_ID_PATTERN},
            issueKey={"type": "string", "pattern": ISSUE_KEY_PATTERN},
            version={"type": "integer", "minimum": 1},
            state={"type": "string", "enum": ["voting", "revealed", "estimated"]},
            owner={"type": ["string", "null"], "pattern": ACCOUNT_ID_PATTERN},
            ownerPresent=_BOOL,
            you=_ACCOUNT,
            deck=ref("Deck"),
            **settings,
            round={"type": "integer", "minimum": 1},
            participants={"type": "array", "items": ref("Participant")},
            results=_nullable(ref("Results")),
            estimate=_nullable(ref("AcceptedEstimate")),
            history={"type": "array", "items": ref("Round")},
        ),
        "RoomDefaults": _closed(
            deck=_closed(
                name=TEXT,
                cards={"type": "array", "items": _closed(label=TEXT, value=_NUMBER_OR_NULL)},
            ),
            **settings,
        ),
        "Defaults": _closed(defaults=_nullable(ref("RoomDefaults"))),
        "Removed": _closed(removed={"type": "string", "pattern": ROOM_ID_PATTERN}),
        "Ticket": {
            "type": "object",
            "properties": {
                "ticket": {"type": "string", "minLength": 1},
                # Where the socket connects: this deployment (its region's) base URL.
                "baseUrl": {"type": "string", "format": "uri"},
            },
            "required": ["ticket"],
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
                },
                "required": ["code", "message"],
                "additionalProperties": False,
            }
        ),
        **_live_schemas(),
    }


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

    simple = ("withdraw", "leave", "reveal", "reset", "take-control", "remove")
    sync = command("sync")
    sync["properties"]["version"] = _INT
    return {
        "LiveCommand": {
            "oneOf": [
                command("vote", VoteBody),
                command("join", JoinBody),
                command("estimate", EstimateBody),
                command("configure", ConfigBody),
                sync,
                *(command(op) for op in simple),
            ]
        },
        "LiveMessage": {
            "oneOf": [
                _closed(type={"const": "room"}, room=ref("Room")),
                _closed(type={"const": "ack"}, id=any_id),
                _closed(
                    type={"const": "error"},
                    id=any_id,
                    error=_closed(status={"type": "integer"}, code=TEXT, message=TEXT),
                ),
                _closed(type={"const": "removed"}),
            ]
        },
    }
