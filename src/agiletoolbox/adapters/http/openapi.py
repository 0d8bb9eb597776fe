"""The OpenAPI 3.1 document of the API, served at `/api/openapi.json`.

The request bodies' schemas are derived from the attrs classes `wire.py` structures bodies
into, so a field added there shows up here; what the domain checks beyond the Python type
(the shape of an issue key, the standard decks' names, a label's length) is added per
field. The answers' schemas describe what `wire.room_view` and the handlers send; the
tests hold both to what the server really accepts and answers.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import attrs
from aiohttp import web

from agiletoolbox import __version__
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


_TEXT: JsonSchema = {"type": "string"}
_TEXT_OR_NULL: JsonSchema = {"type": ["string", "null"]}
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
        modes={"type": "array", "items": _TEXT},
        agreement={"type": "number", "minimum": 0, "maximum": 1},
        spread=_nullable(_closed(min=_TEXT, max=_TEXT)),
        closestCard=_TEXT_OR_NULL,
        outliers={"type": "array", "items": _ACCOUNT},
        unanimous=_BOOL,
        specials={"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
    )
    return {
        "Card": _closed(label=_TEXT, value=_NUMBER_OR_NULL, special=_BOOL),
        "Deck": _closed(name=_TEXT, cards={"type": "array", "items": ref("Card")}),
        "Participant": _closed(
            accountId=_ACCOUNT,
            role={"type": "string", "enum": ["voter", "observer"]},
            online=_BOOL,
            voted=_BOOL,
            card=_TEXT_OR_NULL,
        ),
        "Results": results,
        "AcceptedEstimate": _closed(
            value=_TEXT,
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
                "items": _closed(accountId=_ACCOUNT, card=_TEXT_OR_NULL),
            },
            results=_nullable(ref("Results")),
            estimate=_TEXT_OR_NULL,
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
                name=_TEXT,
                cards={"type": "array", "items": _closed(label=_TEXT, value=_NUMBER_OR_NULL)},
            ),
            **settings,
        ),
        "Defaults": _closed(defaults=_nullable(ref("RoomDefaults"))),
        "Removed": _closed(removed={"type": "string", "pattern": ROOM_ID_PATTERN}),
        "Ticket": _closed(ticket={"type": "string", "minLength": 1}),
        "Error": _closed(
            error={
                "type": "object",
                "properties": {
                    "code": _TEXT,
                    "message": _TEXT,
                    "details": {"type": "array", "items": _TEXT},
                    "incident": _TEXT,
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
                    error=_closed(status={"type": "integer"}, code=_TEXT, message=_TEXT),
                ),
                _closed(type={"const": "removed"}),
            ]
        },
    }


REASONS: Mapping[int, str] = {
    400: "The body is not JSON (on the live route: the request is no WebSocket upgrade).",
    401: "No credential, or one that is not valid (expired, tampered, a page token).",
    403: "The tenant may not be served, the token names another issue, or the caller "
    "may not do this (only the owner reveals, resets, estimates, configures, removes).",
    404: "The tenant has no such room (another tenant's room is not found either).",
    409: "The room's state does not allow it (nothing to reveal, the issue already has "
    "a room), Jira would not take the estimate, or the room changed meanwhile.",
    413: "The body is larger than the server takes.",
    415: "The body is not sent as application/json.",
    422: "The body or a parameter does not have the documented shape; `details` says where.",
    503: "The store, Jira or a key service cannot be reached; try again later.",
}

_AUTH = (401, 403, 503)
_ROOM = (*_AUTH, 404)
_CHANGE = (*_ROOM, 409)
_BODY = (400, 413, 415, 422)
_ROOM_PATH = "/api/rooms/{room_id}"

# path, method, summary, (status, answer schema), failures, request body schema
_ROUTES: tuple[tuple[str, str, str, tuple[int, str], tuple[int, ...], str | None], ...] = (
    ("/api/rooms", "get", "The caller's view of an issue's room", (200, "Room"), (*_ROOM, 422),
     None),
    ("/api/rooms", "post", "Open an issue's room; the caller owns it", (201, "Room"),
     (*_AUTH, 409, *_BODY), "CreateRoom"),
    ("/api/defaults", "get", "The caller's saved settings for a project and issue type",
     (200, "Defaults"), (*_AUTH, 422), None),
    (_ROOM_PATH, "patch", "Configure the room (owner only)", (200, "Room"), (*_CHANGE, *_BODY),
     "Configure"),
    (_ROOM_PATH, "delete", "Remove the room and everything in it (owner only)",
     (200, "Removed"), _CHANGE, None),
    (_ROOM_PATH + "/join", "post", "Join as voter or observer, or switch role", (200, "Room"),
     (*_CHANGE, *_BODY), "Join"),
    (_ROOM_PATH + "/leave", "post", "Leave the room", (200, "Room"), _CHANGE, None),
    (_ROOM_PATH + "/vote", "put", "Pick a card (the held card again withdraws it)",
     (200, "Room"), (*_CHANGE, *_BODY), "Vote"),
    (_ROOM_PATH + "/vote", "delete", "Withdraw the caller's vote", (200, "Room"), _CHANGE, None),
    (_ROOM_PATH + "/reveal", "post", "Reveal the votes (owner only)", (200, "Room"), _CHANGE,
     None),
    (_ROOM_PATH + "/reset", "post", "Start a new round (owner only)", (200, "Room"), _CHANGE,
     None),
    (_ROOM_PATH + "/take-control", "post", "Become the owner while the owner is away",
     (200, "Room"), _CHANGE, None),
    (_ROOM_PATH + "/estimate", "post", "Accept the estimate, write it to Jira, read it back",
     (200, "Room"), (*_CHANGE, *_BODY), "Estimate"),
    (_ROOM_PATH + "/ticket", "post", "A one-minute ticket for the live socket",
     (200, "Ticket"), _ROOM, None),
)  # fmt: skip
_QUERIES: Mapping[tuple[str, str], tuple[tuple[str, str, str], ...]] = {
    ("/api/rooms", "get"): (("issueKey", ISSUE_KEY_PATTERN, "The issue, e.g. DEMO-1."),),
    ("/api/defaults", "get"): (
        ("issueKey", ISSUE_KEY_PATTERN, "An issue of the project."),
        ("issueTypeId", ISSUE_TYPE_ID_PATTERN, "The Jira issue type id."),
    ),
}


def _operation(
    summary: str, answer: tuple[int, str] | None, errors: tuple[int, ...], body: str | None
) -> JsonSchema:
    responses: JsonSchema = {}
    if answer is not None:
        status, schema = answer
        responses[str(status)] = {
            "description": summary,
            "content": {"application/json": {"schema": ref(schema)}},
        }
    for status in sorted(errors):
        responses[str(status)] = {
            "description": REASONS[status],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    operation: JsonSchema = {"summary": summary}
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
    operation["responses"] = responses
    return operation


def _parameter(name: str, where: str, schema: JsonSchema, text: str, required: bool) -> JsonSchema:
    return {"name": name, "in": where, "required": required, "description": text, "schema": schema}


def _paths() -> JsonSchema:
    room_id = _parameter(
        "room_id", "path", {"type": "string", "pattern": ROOM_ID_PATTERN},
        "The room's id, as `id` in its view.", required=True,
    )  # fmt: skip
    paths: JsonSchema = {
        "/api/openapi.json": {
            "get": {
                "summary": "This document (public)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        }
    }
    for path, method, summary, answer, errors, body in _ROUTES:
        item = paths.setdefault(path, {"parameters": [room_id]} if "{room_id}" in path else {})
        item[method] = _operation(summary, answer, errors, body)
        queries = _QUERIES.get((path, method), ())
        if queries:
            item[method]["parameters"] = [
                _parameter(name, "query", {"type": "string", "pattern": pattern}, text, True)
                for name, pattern, text in queries
            ]
    paths.setdefault(_ROOM_PATH + "/live", {"parameters": [room_id]})["get"] = _live_operation()
    return paths


LIVE_DESCRIPTION = """\
The room's live socket. Open it with `?ticket=` (from `POST /api/rooms/{room_id}/ticket`,
valid one minute, bound to tenant, person and room) or, from Connect, `?jwt=` with the
context token. After the upgrade every message is a JSON text frame.

Server to client (`LiveMessage`): `{"type": "room", "room": Room}` - the caller's own masked
view, on connect and after every change, whose `version` only grows;
`{"type": "ack", "id": ...}` and `{"type": "error", "id": ..., "error": {"status", "code",
"message"}}` answer a command with its `id`; `{"type": "removed"}` before the socket closes
with 4404 when the room is removed.

Client to server (`LiveCommand`): `{"op": ..., "id": ...}` plus the arguments of the REST
route of the same name: `vote` (`card`), `withdraw`, `join` (`role`), `leave`, `reveal`,
`reset`, `take-control`, `estimate` (`value`), `configure` (the `Configure` fields),
`remove`, and `sync` (`version`: the last version seen; the current view follows).

Close codes: 1001 server shutdown, 1003 a binary frame, 1009 a message over the limit,
4403 the tenant may no longer be served, 4404 the room was removed, 4408 a reader too slow
to keep up with its answers."""


def _live_operation() -> JsonSchema:
    operation = _operation("The room's live socket", None, (400, *_ROOM), None)
    operation["description"] = LIVE_DESCRIPTION
    operation["parameters"] = [
        _parameter("ticket", "query", _TEXT, "A ticket from `POST .../ticket`.", False),
        _parameter("jwt", "query", _TEXT, "A Connect context token (instead of a ticket).", False),
    ]
    operation["responses"] = {
        "101": {"description": "Switching to the WebSocket protocol (see the description)."},
        **operation["responses"],
    }
    operation["security"] = [{"Ticket": []}, {"ConnectJWTQuery": []}, {"ConnectJWT": []}]
    return operation


def openapi_document() -> JsonSchema:
    """The OpenAPI 3.1 document of every `/api` route."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Agile Toolbox for Jira",
            "version": __version__,
            "description": "Planning poker inside Jira Cloud. The tenant and the person come "
            "from the verified token only, never from a body. Every error answers "
            '`{"error": {"code", "message"}}`.',
        },
        "paths": _paths(),
        "components": {
            "schemas": {
                **{name: body_schema(kind) for kind, name in BODIES.items()},
                **view_schemas(),
            },
            "securitySchemes": _security_schemes(),
        },
        "security": [{"ConnectJWT": []}, {"ForgeBearer": []}],
    }


def _security_schemes() -> JsonSchema:
    return {
        "ConnectJWT": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: JWT <context token>`: the token `AP.context."
            "getToken()` gives the app's page (`qsh: context-qsh`), signed with the "
            "installation's shared secret.",
        },
        "ForgeBearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "`Authorization: Bearer <Forge invocation token>` from "
            "`invokeRemote`/`requestRemote`; taken once the Forge Remote backend is on.",
        },
        "ConnectJWTQuery": {
            "type": "apiKey",
            "in": "query",
            "name": "jwt",
            "description": "The context token in the URL (live socket only; never logged).",
        },
        "Ticket": {
            "type": "apiKey",
            "in": "query",
            "name": "ticket",
            "description": "A one-minute socket ticket (live socket only; never logged).",
        },
    }


async def openapi_json(_request: web.Request) -> web.Response:
    """The OpenAPI document; public, as it holds no tenant's data."""
    return web.json_response(openapi_document())
