"""The OpenAPI 3.1 document of the API, served at `/api/openapi.json`.

The request bodies' schemas are derived from the attrs classes `wire.py` structures bodies
into, so a field added there shows up here; what the domain checks beyond the Python type
(the shape of an issue key, the standard decks' names, a label's length) is added per
field. The answers' schemas describe what `wire.room_view` and the handlers send; the
tests hold both to what the server really accepts and answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from agiletoolbox import __version__
from agiletoolbox.adapters.http.commands import COMMANDS
from agiletoolbox.adapters.http.openapi_schemas import (
    BODIES,
    ISSUE_KEY_PATTERN,
    ISSUE_TYPE_ID_PATTERN,
    PROJECT_KEY_PATTERN,
    ROOM_ID_PATTERN,
    TEXT,
    JsonSchema,
    body_schema,
    ref,
    view_schemas,
)
from agiletoolbox.adapters.http.sessions import STEPS
from agiletoolbox.domain.session_summary import CSV_COLUMNS

REASONS: Mapping[int, str] = {
    400: "The body is not JSON (on the live route: the request is no WebSocket upgrade).",
    401: "No credential, or one that is not valid (expired, tampered, a page token).",
    403: "The tenant may not be served, the token names another issue (or, to open a "
    "room, no issue), or the caller may not do this (only the owner reveals, resets, "
    "estimates, configures, removes).",
    404: "The tenant has no such room (another tenant's room is not found either); to "
    "open a room, Jira shows the app no issue by that key.",
    409: "The room's state does not allow it (nothing to reveal, the issue already has "
    "a room), Jira would not take the estimate, or the room changed meanwhile.",
    413: "The body is larger than the server takes.",
    415: "The body is not sent as application/json.",
    422: "The body or a parameter does not have the documented shape; `details` says where.",
    429: "Over a limit: the person's or the site's request rate, or (opening the live "
    "socket) the sockets a person may hold in a room or the process may hold; "
    "`Retry-After` and `retryAfter` say in how many seconds to try again.",
    503: "The store, Jira or a key service cannot be reached; try again later.",
}

_AUTH = (401, 403, 429, 503)
_ROOM = (*_AUTH, 404)
_CHANGE = (*_ROOM, 409)
_BODY = (400, 413, 415, 422)
_ROOM_PATH = "/api/rooms/{room_id}"
_SESSION_PATH = "/api/sessions/{session_id}"

# path, method, summary, (status, answer schema), failures, request body schema
Route = tuple[str, str, str, tuple[int, str], tuple[int, ...], str | None]
_ROUTES: tuple[Route, ...] = (
    ("/api/rooms", "get", "The caller's view of an issue's room", (200, "Room"), (*_ROOM, 422),
     None),
    ("/api/rooms", "post", "Open an issue's room; the caller owns it", (201, "Room"),
     (*_AUTH, 404, 409, *_BODY), "CreateRoom"),
    ("/api/defaults", "get", "The caller's saved settings for a project and issue type",
     (200, "Defaults"), (*_AUTH, 422), None),
    *(
        (_ROOM_PATH + c.path, c.method.lower(), c.summary,
         (200, "Removed" if c.op == "remove" else "Room"),
         (*_CHANGE, *_BODY) if c.body is not None else _CHANGE,
         None if c.body is None else BODIES[c.body])
        for c in COMMANDS
    ),
    (_ROOM_PATH + "/ticket", "post", "A one-minute ticket for the live socket",
     (200, "Ticket"), _ROOM, None),
    ("/api/sessions", "get", "The project's refinement sessions, newest first",
     (200, "SessionList"), (*_AUTH, 422), None),
    ("/api/sessions", "post", "Open a refinement session of the project's issues; the "
     "caller owns it", (201, "Session"), (*_AUTH, 409, *_BODY), "CreateSession"),
    (_SESSION_PATH, "get", "The session's view", (200, "Session"), _ROOM, None),
    (_SESSION_PATH, "patch", "Change the settings its next rooms open with (owner only)",
     (200, "Session"), (*_CHANGE, *_BODY), "Configure"),
    (_SESSION_PATH, "delete", "Remove the session and the rooms it opened (owner only)",
     (200, "SessionRemoved"), _CHANGE, None),
    (_SESSION_PATH + "/ticket", "post", "A one-minute ticket for the session's live socket",
     (200, "Ticket"), _ROOM, None),
    (_SESSION_PATH + "/summary", "get", "The session's record: per issue key the estimate, "
     "votes, agreement and rounds, and the totals (keys and numbers only)",
     (200, "SessionSummary"), _ROOM, None),
    (_SESSION_PATH + "/accept-unanimous", "post", "Reveal and estimate every open issue "
     "whose votes are unanimous; the issues written and those that failed (owner only)",
     (200, "Acceptance"), _CHANGE, None),
    (_SESSION_PATH + "/issues/{issue_key}", "delete",
     "Take an issue out of the queue (owner only)", (200, "Session"), _CHANGE, None),
    *(
        (_SESSION_PATH + suffix, "post", summary, (200, "Session"),
         (*_CHANGE, *_BODY) if body is not None else _CHANGE,
         None if body is None else BODIES[body])
        for suffix, body, _run, summary in STEPS
    ),
)  # fmt: skip
_QUERIES: Mapping[tuple[str, str], tuple[tuple[str, str, str], ...]] = {
    ("/api/rooms", "get"): (("issueKey", ISSUE_KEY_PATTERN, "The issue, e.g. DEMO-1."),),
    ("/api/sessions", "get"): (("projectKey", PROJECT_KEY_PATTERN, "The project, e.g. DEMO."),),
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
    session_id = _parameter(
        "session_id", "path", {"type": "string", "pattern": ROOM_ID_PATTERN},
        "The session's id, as `id` in its view.", required=True,
    )  # fmt: skip
    issue_key = _parameter(
        "issue_key", "path", {"type": "string", "pattern": ISSUE_KEY_PATTERN},
        "An issue of the queue, e.g. DEMO-1.", required=True,
    )  # fmt: skip
    for path, method, summary, answer, errors, body in _ROUTES:
        parameters = [
            p
            for name, p in (
                ("room_id", room_id),
                ("session_id", session_id),
                ("issue_key", issue_key),
            )
            if "{" + name + "}" in path
        ]
        item = paths.setdefault(path, {"parameters": parameters} if parameters else {})
        item[method] = _operation(summary, answer, errors, body)
        queries = _QUERIES.get((path, method), ())
        if queries:
            item[method]["parameters"] = [
                _parameter(name, "query", {"type": "string", "pattern": pattern}, text, True)
                for name, pattern, text in queries
            ]
    paths.setdefault(_ROOM_PATH + "/live", {"parameters": [room_id]})["get"] = _live_operation()
    paths.setdefault(_SESSION_PATH + "/live", {"parameters": [session_id]})["get"] = (
        _live_operation("The session's live socket", SESSION_LIVE_DESCRIPTION)
    )
    # The record as CSV too, for `Accept: text/csv` or `?format=csv`.
    summary = paths[_SESSION_PATH + "/summary"]["get"]
    summary["responses"]["200"]["content"]["text/csv"] = {
        "schema": {"type": "string", "description": "A header row " + ", ".join(CSV_COLUMNS)}
    }
    summary["parameters"] = [
        _parameter("format", "query", {"type": "string", "enum": ["json", "csv"]},
                   "`csv` for the CSV form (as `Accept: text/csv`).", False),
    ]  # fmt: skip
    # An issue nobody opened a room for yet is a normal state: no content, not an error.
    paths["/api/rooms"]["get"]["responses"]["204"] = {"description": "No room was opened yet"}
    return paths


LIVE_DESCRIPTION = """\
The room's live socket. Open it with `?ticket=` (from `POST /api/rooms/{room_id}/ticket`,
valid one minute, bound to tenant, person and room) or, from Connect, `?jwt=` with the
context token. After the upgrade every message is a JSON text frame.

Server to client (`LiveMessage`): `{"type": "room", "room": Room}` - the caller's whole
masked view, on connect, on `sync`, and whenever the client may have missed a change;
`{"type": "patch", "from": n, "room": RoomChanges}` - after a change, what changed in the
caller's view since version `n` (apply it only to the view at version `n`; otherwise
`sync`): top-level fields replace theirs, and `participants`, when an object, maps account
ids to the fields of theirs that changed. Versions only grow. `{"type": "ack", "id": ...}`
and `{"type": "error", "id": ..., "error": {"status", "code", "message"}}` answer a command
with its `id`; a `room` or `patch` message that carries `ack` answers that command too.
A command over the socket's rate is not run: its `error` has status 429 and `retryAfter`
(seconds).
`{"type": "removed"}` comes before the socket closes with 4404 when the room is removed.

Client to server (`LiveCommand`): `{"op": ..., "id": ...}` plus the arguments of the REST
route of the same name: `vote` (`card`), `withdraw`, `join` (`role`), `leave`, `reveal`,
`reset`, `take-control`, `estimate` (`value`), `configure` (the `Configure` fields),
`remove`, and `sync` (`version`: the last version seen; the whole current view follows).

Close codes: 1001 server shutdown, 1003 a binary frame, 1008 commands sent on past the
rate (50 refused in a row), 1009 a message over the limit,
4403 the tenant may no longer be served, 4404 the room was removed, 4408 a reader too slow
to keep up with its answers."""


SESSION_LIVE_DESCRIPTION = """\
The session's live socket. Open it with `?ticket=` (from `POST
/api/sessions/{session_id}/ticket`, valid one minute, bound to tenant, person and session)
or, from Connect, `?jwt=` with the context token.

Server to client: `{"type": "session", "session": Session}` - the session's view (without
`room`: the current issue's room has its own socket), on connect, on `sync`, and whenever
the session changed (its queue, current issue or state, or a room of its queue was
revealed, restarted or estimated). A reader that falls behind gets the newest view only.
`{"type": "removed"}` comes before the socket closes with 4404 when the session is removed.

Client to server: `{"op": "sync", "id": ...}` only (the whole view follows); anything else
is answered `error` 422. The owner drives the session over REST.

Close codes as the room's socket: 1001, 1003, 1008, 1009, 4403, 4404."""


def _live_operation(
    summary: str = "The room's live socket", description: str = LIVE_DESCRIPTION
) -> JsonSchema:
    operation = _operation(summary, None, (400, *_ROOM), None)
    operation["description"] = description
    operation["parameters"] = [
        _parameter("ticket", "query", TEXT, "A ticket from `POST .../ticket`.", False),
        _parameter("jwt", "query", TEXT, "A Connect context token (instead of a ticket).", False),
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
