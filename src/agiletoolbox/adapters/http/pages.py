"""The pages Jira opens in an iframe, and the files they load.

`GET /room` is the room page: a small shell, authenticated by the URL's JWT, that loads
the host bridge (`AP`) and the room's script modules from `/static/`. When the issue has
a room, the shell carries the person's first view of it and a ticket for its live socket,
so the room is on screen without waiting for a token and an API call (both come from
the same verified JWT the page was opened with). In production the
bridge always comes from Atlassian's CDN. Elsewhere it comes from the site that framed
the page - `<xdm_e><cp>/atlassian-connect/all.js`, where Jira has long served it too -
so the Jira simulator's faithful `AP` runs the page in the demo and the browser tests.
Those two parameters are covered by the URL's `qsh`, so only the signing site can
choose them.

The page's own Content-Security-Policy names exactly that script origin, the site that
may frame the page, and where avatars may come from.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import json
import mimetypes
import re
from importlib import resources
from urllib.parse import urlsplit

from aiohttp import web
from attrs import frozen

from agiletoolbox.adapters.connect.jwt import RouteClass
from agiletoolbox.adapters.connect.tokens import ConnectCaller
from agiletoolbox.adapters.http.caller import Caller, NotAuthenticated
from agiletoolbox.adapters.http.connect import CONNECT, verify
from agiletoolbox.adapters.http.keys import ROOMS, TICKETS, WEB
from agiletoolbox.adapters.http.room_json import view_json
from agiletoolbox.adapters.http.wire import server_now
from agiletoolbox.domain.errors import InvalidValue, NotFound
from agiletoolbox.domain.ids import IssueKey, ProjectKey, SessionId

routes = web.RouteTableDef()

ATLASSIAN_BRIDGE = "https://connect-cdn.atl-paas.net/all.js"
STATIC_PREFIX = "/static/"
# A site's context path: plain segments, no `.` or `..`.
_CONTEXT_PATH = re.compile(r"(/(?!\.\.?(?:/|$))[A-Za-z0-9._~-]+)*")
_VIEWS = frozenset({"glance", "dialog"})
# Every module room.js imports, fetched in parallel instead of one import level at a time.
MODULES = ("api", "config", "fields", "host", "live", "people", "render", "roomview", "ui")
PRELOADS = "\n".join(f'<link rel="modulepreload" href="/static/{name}.js">' for name in MODULES)
# And the sessions page's own modules, besides the room's (it mounts the room too).
SESSION_MODULES = ("projectjira", "sessionform", "sessionasync", "sessionpage", "sessions")
SESSION_PRELOADS = "\n".join(
    f'<link rel="modulepreload" href="/static/{name}.js">' for name in SESSION_MODULES
)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Planning poker · {issue_key}</title>
<link rel="stylesheet" href="/static/room.css">
{preloads}
<script src="{bridge}" data-options="{options}"></script>
<script type="module" src="/static/room.js"></script>
</head>
<body class="view-{view}">
{initial}<main id="room" data-issue-key="{issue_key}" data-issue-type-id="{issue_type_id}"
      data-project-key="{project_key}" data-view="{view}" data-host="connect">
<p class="loading" role="status">Opening the room of {issue_key}…</p>
</main>
<div id="announcer" class="visually-hidden" role="status" aria-live="polite"></div>
</body>
</html>
"""


SESSIONS_SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Refinement sessions · {project_key}</title>
<link rel="stylesheet" href="/static/room.css">
<link rel="stylesheet" href="/static/sessions.css">
{preloads}
{session_preloads}
<script src="{bridge}" data-options="resize:true"></script>
<script type="module" src="/static/sessions.js"></script>
</head>
<body class="view-project">
<main id="sessions" data-project-key="{project_key}" data-project-id="{project_id}"
      data-session="{session}" data-host="connect">
<p class="loading" role="status">Opening the refinement sessions of {project_key}…</p>
</main>
<div id="announcer" class="visually-hidden" role="status" aria-live="polite"></div>
</body>
</html>
"""


@frozen
class Framing:
    """Where the page's bridge script comes from and which origins may frame it."""

    bridge: str
    script_origin: str
    host_origin: str | None

    @classmethod
    def of(cls, request: web.Request) -> Framing:
        """Atlassian's CDN in production; the framing site's own bridge elsewhere."""
        if request.app[WEB].production:
            return cls(ATLASSIAN_BRIDGE, _origin(ATLASSIAN_BRIDGE), None)
        host = _site_origin(request.query.get("xdm_e", ""))
        context_path = request.query.get("cp", "")
        if host is None or not _CONTEXT_PATH.fullmatch(context_path):
            return cls(ATLASSIAN_BRIDGE, _origin(ATLASSIAN_BRIDGE), None)
        return cls(f"{host}{context_path}/atlassian-connect/all.js", host, host)

    def policy(self, ancestors: tuple[str, ...]) -> str:
        """The page's Content-Security-Policy."""
        extra = f" {self.host_origin}" if self.host_origin else ""
        return (
            "default-src 'self'; "
            f"script-src 'self' {self.script_origin}; "
            "style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: https:{extra}; "
            "connect-src 'self' wss: ws:; object-src 'none'; base-uri 'none'; "
            "form-action 'none'; "
            f"frame-ancestors 'self' {' '.join(ancestors)}{extra}"
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _site_origin(text: str) -> str | None:
    """`scheme://host[:port]` if `text` is exactly an http(s) origin, else None."""
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", parts.netloc)
    ):
        return None
    return f"{parts.scheme}://{parts.netloc}"


@routes.get("/room")
async def room_page(request: web.Request) -> web.Response:
    """The room page of an issue: the iframe's JWT must be genuine and bound to this URL."""
    site = request.app.get(CONNECT)
    if site is None:
        raise web.HTTPNotFound()
    caller = await verify(site.verifier, request, RouteClass.PAGE, site.clock)
    try:
        issue_key = IssueKey(request.query.get("issueKey", ""))
    except InvalidValue:
        raise web.HTTPBadRequest(reason="the page needs an issueKey") from None
    if caller.context.issue_key is not None and caller.context.issue_key != issue_key:
        raise NotAuthenticated("the token was issued for another issue", status=403)
    issue_type = request.query.get("issueTypeId", "")
    view = request.query.get("view", "glance")
    view = view if view in _VIEWS else "glance"
    framing = Framing.of(request)
    page = SHELL.format(
        initial=await _first_view(request, caller, issue_key),
        issue_key=html.escape(issue_key.value),
        issue_type_id=html.escape(issue_type if issue_type.isdigit() else ""),
        project_key=html.escape(issue_key.project.value),
        preloads=PRELOADS,
        view=view,
        bridge=html.escape(framing.bridge),
        # Panel and dialog alike size themselves to their content (the host caps a
        # dialog at the window's height), so neither leaves an empty area.
        options="resize:true",
    )
    response = web.Response(text=page, content_type="text/html")
    response.headers["Content-Security-Policy"] = framing.policy(request.app[WEB].frame_ancestors)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/sessions")
async def sessions_page(request: web.Request) -> web.Response:
    """A project's refinement sessions (the Connect project page): the list, the new-session
    form, and one session's page when `session` names one. The iframe's JWT must be
    genuine and bound to this URL; the page then acts with the project page's context
    token, which reaches this project only."""
    site = request.app.get(CONNECT)
    if site is None:
        raise web.HTTPNotFound()
    await verify(site.verifier, request, RouteClass.PAGE, site.clock)
    try:
        project = ProjectKey(request.query.get("projectKey", ""))
    except InvalidValue:
        raise web.HTTPBadRequest(reason="the page needs a projectKey") from None
    project_id = request.query.get("projectId", "")
    session = request.query.get("session", "")
    try:
        session = SessionId(session).value if session else ""
    except InvalidValue:
        session = ""  # a link to nothing opens the list
    framing = Framing.of(request)
    page = SESSIONS_SHELL.format(
        project_key=html.escape(project.value),
        project_id=html.escape(project_id if project_id.isdigit() else ""),
        session=html.escape(session),
        preloads=PRELOADS,
        session_preloads=SESSION_PRELOADS,
        bridge=html.escape(framing.bridge),
    )
    response = web.Response(text=page, content_type="text/html")
    response.headers["Content-Security-Policy"] = framing.policy(request.app[WEB].frame_ancestors)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _first_view(request: web.Request, connect: ConnectCaller, issue_key: IssueKey) -> str:
    """The person's view of the issue's room and a socket ticket, as inline JSON ('' if none)."""
    if connect.account_id is None:
        return ""
    caller = Caller(connect.client_key, connect.account_id, issue_key)
    with contextlib.suppress(NotFound):
        room = await request.app[ROOMS].find(caller.tenant, issue_key)
        first = {
            "room": view_json(room, caller.account),
            "ticket": request.app[TICKETS].issue(caller, room.id),
            "now": server_now(),
        }
        # `<` never appears raw, so nothing in the JSON can close the script element.
        text = json.dumps(first, separators=(",", ":")).replace("<", "\\u003c")
        return f'<script type="application/json" id="first-view">{text}</script>\n'
    return ""


@frozen
class Asset:
    """One static file, kept in memory with its gzip form and its entity tag."""

    body: bytes
    gzipped: bytes
    content_type: str
    etag: str

    @classmethod
    def load(cls, name: str) -> Asset | None:
        """The packaged file `static/<name>`, or None."""
        if not re.fullmatch(r"[a-z][a-z0-9-]*\.(js|css|svg)", name):
            return None
        file = resources.files("agiletoolbox.adapters.http") / "static" / name
        if not file.is_file():
            return None
        body = file.read_bytes()
        suffix = name[name.rindex(".") :]
        content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "text/plain"
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return cls(body, gzip.compress(body, 9, mtime=0), content_type, etag)


class StaticAssets:
    """The room page's files under `/static/`, revalidated by entity tag, gzipped when asked."""

    def __init__(self) -> None:
        self._cache: dict[str, Asset | None] = {}

    def asset(self, name: str) -> Asset | None:
        """The asset called `name` (read once)."""
        if name not in self._cache:
            self._cache[name] = Asset.load(name)
        return self._cache[name]

    async def serve(self, request: web.Request) -> web.Response:
        """`GET /static/{name}`."""
        asset = self.asset(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound()
        headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
        if request.headers.get("If-None-Match") == asset.etag:
            return web.Response(status=304, headers=headers)
        body = asset.body
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        charset = None if asset.content_type == "image/svg+xml" else "utf-8"
        return web.Response(
            body=body, headers=headers, content_type=asset.content_type, charset=charset
        )


def add_static_routes(app: web.Application) -> None:
    """Serve the room page's files (packaged in the wheel) at `/static/`."""
    assets = StaticAssets()
    app.router.add_get(STATIC_PREFIX + "{name}", assets.serve)


HOME = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Agile Toolbox for Jira</title>
<link rel="icon" href="/static/icon.svg">
<link rel="stylesheet" href="/static/room.css">
</head>
<body>
<main class="home">
<h1>Agile Toolbox for Jira</h1>
<p>Planning poker inside Jira Cloud. This address is the app's server: people use the app
from an issue in Jira (the <strong>Planning poker</strong> panel), not from here.</p>
<h2>For Jira administrators</h2>
<ul>
<li>Install it on a site from <strong>Apps → Manage apps → Upload app</strong> with the
descriptor URL <a href="/atlassian-connect.json"><code>{descriptor}</code></a>.</li>
<li>The API for developers: <a href="/api/openapi.json">OpenAPI document</a>.</li>
<li>Health: <a href="/healthz">/healthz</a> · readiness: <a href="/readyz">/readyz</a>.</li>
</ul>
<p class="muted">This server keeps account ids, never names; each site's data stays in its
region ({region}).</p>
</main>
</body>
</html>
"""


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """The root URL: what this server is, and where to go from here (no 404)."""
    settings = request.app[WEB]
    base = (settings.base_url or f"{request.scheme}://{request.host}").rstrip("/")
    text = HOME.format(
        descriptor=html.escape(f"{base}/atlassian-connect.json"),
        region=html.escape(settings.region_name),
    )
    return web.Response(text=text, content_type="text/html")
