"""The pages Jira opens in an iframe: the room page, authenticated by the URL's JWT."""

from __future__ import annotations

import html

from aiohttp import web

from agiletoolbox.adapters.connect.jwt import RouteClass
from agiletoolbox.adapters.http.caller import NotAuthenticated
from agiletoolbox.adapters.http.connect import CONNECT, verify
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import IssueKey

routes = web.RouteTableDef()

SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Planning poker · {issue_key}</title>
<link rel="stylesheet" href="/static/room.css">
<script src="https://connect-cdn.atl-paas.net/all.js" data-options="sizeToParent:true"></script>
<script type="module" src="/static/room.js"></script>
</head>
<body>
<main id="room" data-issue-key="{issue_key}" data-issue-type-id="{issue_type_id}"
      data-host="connect" aria-live="polite">
<p class="loading">Opening the room of {issue_key}…</p>
</main>
</body>
</html>
"""


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
    page = SHELL.format(
        issue_key=html.escape(issue_key.value),
        issue_type_id=html.escape(issue_type if issue_type.isdigit() else ""),
    )
    return web.Response(text=page, content_type="text/html")
