"""The room API: each handler structures its body, calls one use case, renders the view.

The commands that change a room (`commands.COMMANDS`) get their routes from that table:
each runs through the live rooms, so the sockets held here see the change at once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import hdrs, web

from agiletoolbox.adapters import strict_json
from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.commands import COMMANDS, Command
from agiletoolbox.adapters.http.keys import CALLER, LIVE, ROOMS, TICKETS, WEB, caller_of
from agiletoolbox.adapters.http.room_json import view_json
from agiletoolbox.adapters.http.wire import (
    BodyError,
    CreateRoomBody,
    room_config,
    server_now,
    structure,
)
from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.errors import InvalidValue, NotFound, NotPermitted
from agiletoolbox.domain.ids import IssueKey, IssueTypeId, RoomId
from agiletoolbox.domain.room import Room

B = TypeVar("B")

ROOM_PATH = "/api/rooms/{room_id}"
routes = web.RouteTableDef()


async def read_body(request: web.Request, kind: type[B], *, optional: bool = False) -> B:
    """The request's JSON body as `kind` (400 when not JSON, 422 when the wrong shape).

    With `optional` (a body whose every field has a default), no body at all reads as `{}`.
    """
    if optional and not request.body_exists:
        return structure({}, kind)  # type: ignore[no-any-return]
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="send the body as application/json")
    raw = await request.read()
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise web.HTTPBadRequest(reason="the body is not valid JSON") from None
    try:
        strict_json.check_depth(body)
    except ValueError as error:
        raise BodyError([f"{error} @ body"]) from None
    result: B = structure(body, kind)
    return result


def room_id_of(request: web.Request) -> RoomId:
    """The room id of the path."""
    try:
        return RoomId(request.match_info["room_id"])
    except InvalidValue:
        raise web.HTTPNotFound(reason="no such room") from None


def answer(room: Room, caller: Caller, status: int = 200) -> web.Response:
    """The caller's view of the room as JSON."""
    return web.json_response(view_json(room, caller.account), status=status)


def check_issue(caller: Caller, issue_key: IssueKey) -> None:
    """A token whose context names an issue acts on that issue's room only; one whose
    context names a project (a project page's), on the rooms of that project's issues."""
    if caller.issue_key is not None and caller.issue_key != issue_key:
        raise NotPermitted("the token was issued for another issue")
    if caller.project_key is not None and caller.project_key != issue_key.project:
        raise NotPermitted("the token was issued for another project")


async def checked_room(request: web.Request) -> tuple[Caller, RoomId]:
    """The caller and the path's room, after checking the token's issue or project."""
    caller, room_id = caller_of(request), room_id_of(request)
    if caller.issue_key is not None or caller.project_key is not None:
        room = await request.app[ROOMS].get(caller.tenant, room_id)
        check_issue(caller, room.issue_key)
    return caller, room_id


@routes.get("/api/rooms")
async def find_room(request: web.Request) -> web.Response:
    """The caller's view of the room of `?issueKey=`; 204 (no content) when none was opened:
    an issue without a room is a normal state, not an error."""
    caller = caller_of(request)
    issue_key = _issue_key(request.query.get("issueKey", ""))
    check_issue(caller, issue_key)
    try:
        room = await request.app[ROOMS].find(caller.tenant, issue_key)
    except NotFound:
        return web.Response(status=204)
    return answer(room, caller)


@routes.get("/api/defaults")
async def saved_defaults(request: web.Request) -> web.Response:
    """The caller's saved defaults for `?issueKey=&issueTypeId=` (null when none)."""
    caller = caller_of(request)
    issue_key = _issue_key(request.query.get("issueKey", ""))
    try:
        issue_type = IssueTypeId(request.query.get("issueTypeId", ""))
    except InvalidValue:
        raise BodyError(["issueTypeId must be a Jira issue type id @ query.issueTypeId"]) from None
    config = await request.app[ROOMS].saved_defaults(
        caller.tenant, caller.account, issue_key, issue_type
    )
    return web.json_response({"defaults": None if config is None else _config_json(config)})


@routes.post("/api/rooms")
async def create_room(request: web.Request) -> web.Response:
    """Open the room of an issue; the caller owns it. Only a token issued for that issue
    (opened from it in Jira) may open its room."""
    caller = caller_of(request)
    body = await read_body(request, CreateRoomBody)
    issue_key = _issue_key(body.issue_key)
    if caller.issue_key is None:
        raise NotPermitted("a room is opened from its issue: the token names no issue")
    check_issue(caller, issue_key)
    issue_type = None
    if body.save_as_default:
        if body.issue_type_id is None:
            raise BodyError(["issueTypeId is needed to save a default @ body.issueTypeId"])
        issue_type = IssueTypeId(body.issue_type_id)
    room = await request.app[ROOMS].open(
        caller.tenant, caller.account, issue_key, room_config(body, RoomConfig()), issue_type
    )
    return answer(room, caller, status=201)


def command_handler(command: Command) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The REST handler of a room command: structure the body, run it, answer the view."""

    async def handle(request: web.Request) -> web.Response:
        caller, room_id = await checked_room(request)
        body = (
            None
            if command.body is None
            else await read_body(request, command.body, optional=command.body_optional)
        )
        room = await request.app[LIVE].change(
            (caller.tenant, room_id),
            lambda known: command.run(request.app[ROOMS], caller, room_id, body, known),
        )
        if room.removed:
            return web.json_response({"removed": str(room_id)})
        return answer(room, caller)

    handle.__doc__ = command.summary
    return handle


def add_room_routes(app: web.Application) -> None:
    """Mount the room API: the routes above and one per room command."""
    app.add_routes(routes)
    for command in COMMANDS:
        app.router.add_route(command.method, ROOM_PATH + command.path, command_handler(command))


@routes.post("/api/rooms/{room_id}/ticket")
async def ticket(request: web.Request) -> web.Response:
    """A one-minute ticket that opens the room's live socket."""
    caller, room_id = await checked_room(request)
    await request.app[ROOMS].get(caller.tenant, room_id)
    # `now` lets the page set its clock against the server's, for the round's timer.
    answer = {"ticket": request.app[TICKETS].issue(caller, room_id), "now": server_now()}
    base_url = request.app[WEB].base_url
    if base_url is not None:
        answer["baseUrl"] = base_url
    return web.json_response(answer)


def _issue_key(text: str) -> IssueKey:
    try:
        return IssueKey(text)
    except InvalidValue:
        raise BodyError(["issueKey must be a Jira issue key such as DEMO-1 @ issueKey"]) from None


def _config_json(config: RoomConfig) -> dict[str, Any]:
    deck = config.deck
    return {
        "deck": {
            "name": deck.name,
            "cards": [{"label": c.label, "value": c.value} for c in deck.cards],
        },
        "fieldId": None if config.field_id is None else str(config.field_id),
        "questionCard": config.question_card,
        "offlineVoting": config.offline_voting,
        "autoReveal": config.auto_reveal,
        "allowTakeControl": config.allow_take_control,
        "persistent": config.persistent,
        "valueMap": dict(config.value_map),
        "suggestion": config.suggestion.value,
        "revealOnTimer": config.reveal_on_timer,
        "commentOnEstimate": config.comment_on_estimate,
    }


@routes.get("/api/rooms/{room_id}/live")
async def live(request: web.Request) -> web.StreamResponse:
    """The room's live socket, opened with `?ticket=` (or a Connect context token)."""
    if not request.app[WEB].allows_socket_origin(request.headers.get(hdrs.ORIGIN)):
        # Before anything else: a page of another site gets no socket, credentials or not.
        raise web.HTTPForbidden(reason="pages of this origin may not open the room's socket")
    room_id = room_id_of(request)
    ticket = request.query.get("ticket")
    caller = (
        request.app[TICKETS].redeem(ticket, room_id)
        if ticket is not None
        else (await checked_room(request))[0]  # a token scoped to another issue opens nothing
    )
    request[CALLER] = caller  # so that a report of anything going wrong names the site
    return await request.app[LIVE].serve(request, caller, room_id)
