"""The refinement-session API: `/api/sessions` and one route per thing the owner does.

A session is visible to a caller whose token is for its project: a project page's token
(its context names the project) or an issue's (the issue's project). Only keys, ids and
settings come in; the browser runs the JQL and reads the summaries. Every answer is the
session's view (`domain/session_view.py`), with the caller's view of the current room.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from aiohttp import hdrs, web

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.keys import (
    CALLER,
    LIVE_SESSIONS,
    ROOMS,
    SESSIONS,
    TICKETS,
    WEB,
    caller_of,
)
from agiletoolbox.adapters.http.live_sessions import rooms_of, view_with_rooms
from agiletoolbox.adapters.http.rooms import read_body
from agiletoolbox.adapters.http.wire import (
    BodyError,
    ConfigBody,
    CreateSessionBody,
    CurrentBody,
    MoveBody,
    SessionIssuesBody,
    room_config,
    server_now,
    unstructure,
)
from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.errors import InvalidValue, NotPermitted
from agiletoolbox.domain.ids import IssueKey, IssueTypeId, ProjectKey, SessionId
from agiletoolbox.domain.session import RefinementSession, SessionMode
from agiletoolbox.domain.session_summary import CSV_COLUMNS, session_summary, summary_rows
from agiletoolbox.domain.session_view import AcceptanceFailure, AcceptanceView, session_list
from agiletoolbox.services.sessions import SessionService

SESSION_PATH = "/api/sessions/{session_id}"


def check_project(caller: Caller, project: ProjectKey) -> None:
    """Only a token for the project (a project page's, or one of its issues') reaches its
    sessions."""
    if caller.project != project:
        raise NotPermitted("the token is not for this project")


def _session_id(request: web.Request) -> SessionId:
    try:
        return SessionId(request.match_info["session_id"])
    except InvalidValue:
        raise web.HTTPNotFound(reason="no such session") from None


def _project(text: str, where: str) -> ProjectKey:
    try:
        return ProjectKey(text)
    except InvalidValue:
        raise BodyError([f"a Jira project key such as DEMO @ {where}"]) from None


def _issue_keys(texts: Sequence[str], where: str) -> list[IssueKey]:
    keys = []
    for n, text in enumerate(texts):
        try:
            keys.append(IssueKey(text))
        except InvalidValue:
            raise BodyError([f"a Jira issue key such as DEMO-1 @ {where}[{n}]"]) from None
    return keys


def _deadline(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise BodyError(["a time with its offset, such as 2026-12-07T09:00:00Z @ body.deadline"])
    return moment


async def _answer(
    request: web.Request, session: RefinementSession, caller: Caller, status: int = 200
) -> web.Response:
    """The session's view, with the counts of its issues' rooms."""
    view = await view_with_rooms(request.app[ROOMS], session, caller.account)
    return web.json_response(unstructure(view), status=status)


async def _checked(request: web.Request) -> tuple[Caller, SessionService, SessionId]:
    """The caller, the service and the path's session, after checking the project."""
    caller, service, session_id = caller_of(request), request.app[SESSIONS], _session_id(request)
    session = await service.get(caller.tenant, session_id)
    check_project(caller, session.project)
    return caller, service, session_id


async def list_sessions(request: web.Request) -> web.Response:
    """The project's sessions, newest first."""
    caller = caller_of(request)
    project = _project(request.query.get("projectKey", ""), "query.projectKey")
    check_project(caller, project)
    sessions = await request.app[SESSIONS].for_project(caller.tenant, project)
    return web.json_response(unstructure(session_list(list(sessions))))


async def create_session(request: web.Request) -> web.Response:
    """Open a session of the project's issues; the caller owns it."""
    caller = caller_of(request)
    body = await read_body(request, CreateSessionBody)
    project = _project(body.project_key, "body.projectKey")
    check_project(caller, project)
    keys = _issue_keys(body.issue_keys, "body.issueKeys")
    issue_type = None
    if body.save_as_default:
        if body.issue_type_id is None:
            raise BodyError(["issueTypeId is needed to save a default @ body.issueTypeId"])
        try:
            issue_type = IssueTypeId(body.issue_type_id)
        except InvalidValue:
            raise BodyError(["a Jira issue type id such as 10001 @ body.issueTypeId"]) from None
    session = await request.app[SESSIONS].open(
        caller.tenant,
        caller.account,
        project,
        keys,
        SessionMode(body.mode),
        room_config(body, RoomConfig()),
        save_default_for=issue_type,
        deadline=_deadline(body.deadline),
    )
    return await _answer(request, session, caller, status=201)


async def get_session(request: web.Request) -> web.Response:
    """The session's view."""
    caller, service, session_id = await _checked(request)
    return await _answer(request, await service.get(caller.tenant, session_id), caller)


async def remove_session(request: web.Request) -> web.Response:
    """Remove the session and the rooms it opened (the owner only)."""
    caller, service, session_id = await _checked(request)
    await service.remove(caller.tenant, caller.account, session_id)
    return web.json_response({"removed": session_id.value})


async def configure_session(request: web.Request) -> web.Response:
    """Change the settings the session's next rooms open with (the owner only)."""
    caller, service, session_id = await _checked(request)
    body = await read_body(request, ConfigBody)
    session = await service.get(caller.tenant, session_id)
    config = room_config(body, session.config)
    changed = await service.configure(caller.tenant, caller.account, session_id, config)
    return await _answer(request, changed, caller)


async def remove_issue(request: web.Request) -> web.Response:
    """Take an issue out of the queue (the owner only)."""
    caller, service, session_id = await _checked(request)
    try:
        key = IssueKey(request.match_info["issue_key"])
    except InvalidValue:
        raise web.HTTPNotFound(reason="no such issue in the session") from None
    changed = await service.remove_issue(caller.tenant, caller.account, session_id, key)
    return await _answer(request, changed, caller)


Step = Callable[[SessionService, Caller, SessionId, Any], Awaitable[RefinementSession]]


def _step(
    body_type: type[Any] | None, run: Step
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        caller, service, session_id = await _checked(request)
        body = None if body_type is None else await read_body(request, body_type)
        return await _answer(request, await run(service, caller, session_id, body), caller)

    return handle


def _add(s: SessionService, c: Caller, sid: SessionId, b: SessionIssuesBody) -> Awaitable[Any]:
    return s.add_issues(
        c.tenant, c.account, sid, _issue_keys(b.issue_keys, "body.issueKeys"), b.position
    )


def _move(s: SessionService, c: Caller, sid: SessionId, b: MoveBody) -> Awaitable[Any]:
    (key,) = _issue_keys([b.issue_key], "body.issueKey")
    return s.move(c.tenant, c.account, sid, key, b.position)


def _current(s: SessionService, c: Caller, sid: SessionId, b: CurrentBody) -> Awaitable[Any]:
    (key,) = _issue_keys([b.issue_key], "body.issueKey")
    return s.start_issue(c.tenant, c.account, sid, key)


STEPS: tuple[tuple[str, type[Any] | None, Step, str], ...] = (
    ("/issues", SessionIssuesBody, _add, "Add issues to the queue (owner only)"),
    ("/move", MoveBody, _move, "Put an issue at a position of the queue (owner only)"),
    ("/current", CurrentBody, _current, "Estimate this issue now; it gets a room (owner only)"),
    ("/next", None, lambda s, c, sid, _b: s.next(c.tenant, c.account, sid),
     "Move to the next issue still to estimate (owner only)"),
    ("/skip", None, lambda s, c, sid, _b: s.skip(c.tenant, c.account, sid),
     "Skip the current issue and move to the next (owner only)"),
    ("/review", None, lambda s, c, sid, _b: s.review(c.tenant, c.account, sid),
     "End an async session's async phase: the least agreed issues first, then live "
     "(owner only)"),
    ("/finish", None, lambda s, c, sid, _b: s.finish(c.tenant, c.account, sid),
     "End the session; it stays readable (owner only)"),
)  # fmt: skip
"""The owner's steps: path suffix, body, use case, summary (all `POST`)."""


async def accept_unanimous(request: web.Request) -> web.Response:
    """Reveal and estimate every open issue whose votes are unanimous (the owner only):
    the issues written to Jira, those that failed and why, and the session after it."""
    caller, service, session_id = await _checked(request)
    done = await service.accept_unanimous(
        caller.tenant, caller.account, session_id, user_token=caller.user_token
    )
    view = AcceptanceView(
        accepted=done.accepted,
        failed=tuple(AcceptanceFailure(key, message) for key, message in done.failed),
        session=await view_with_rooms(request.app[ROOMS], done.session, caller.account),
    )
    return web.json_response(unstructure(view))


async def summary(request: web.Request) -> web.Response:
    """The session's record: per issue key the estimate, votes, agreement and rounds, and
    the totals; as CSV (`Accept: text/csv`, or `?format=csv`) keys and numbers only."""
    caller, service, session_id = await _checked(request)
    session = await service.get(caller.tenant, session_id)
    record = session_summary(session, await rooms_of(request.app[ROOMS], session))
    wants_csv = request.query.get("format") == "csv" or request.headers.get(
        hdrs.ACCEPT, ""
    ).startswith("text/csv")
    if not wants_csv:
        return web.json_response(unstructure(record))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(summary_rows(record))
    name = f"{session.project.value}-session-{session.created_at:%Y-%m-%d}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={hdrs.CONTENT_DISPOSITION: f'attachment; filename="{name}"'},
    )


async def ticket(request: web.Request) -> web.Response:
    """A one-minute ticket that opens the session's live socket."""
    caller, _service, session_id = await _checked(request)
    answer = {
        "ticket": request.app[TICKETS].issue_for_session(caller, session_id),
        "now": server_now(),
    }
    return web.json_response(answer)


async def live(request: web.Request) -> web.StreamResponse:
    """The session's live socket, opened with `?ticket=` (or a Connect context token)."""
    if not request.app[WEB].allows_socket_origin(request.headers.get(hdrs.ORIGIN)):
        raise web.HTTPForbidden(reason="pages of this origin may not open the session's socket")
    session_id = _session_id(request)
    ticket = request.query.get("ticket")
    if ticket is not None:
        caller = request.app[TICKETS].redeem_for_session(ticket, session_id)
    else:
        caller = (await _checked(request))[0]
    request[CALLER] = caller  # so that a report of anything going wrong names the site
    return await request.app[LIVE_SESSIONS].serve(request, caller, session_id)


def add_session_routes(app: web.Application) -> None:
    """Mount the session API."""
    app.router.add_get("/api/sessions", list_sessions)
    app.router.add_post("/api/sessions", create_session)
    app.router.add_get(SESSION_PATH, get_session)
    app.router.add_patch(SESSION_PATH, configure_session)
    app.router.add_delete(SESSION_PATH, remove_session)
    app.router.add_delete(SESSION_PATH + "/issues/{issue_key}", remove_issue)
    app.router.add_post(SESSION_PATH + "/ticket", ticket)
    app.router.add_post(SESSION_PATH + "/accept-unanimous", accept_unanimous)
    app.router.add_get(SESSION_PATH + "/summary", summary)
    app.router.add_get(SESSION_PATH + "/live", live)
    for suffix, body, run, _summary in STEPS:
        app.router.add_post(SESSION_PATH + suffix, _step(body, run))
