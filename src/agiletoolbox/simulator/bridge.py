"""What a Jira page's front end asks Jira for on behalf of the app's frames.

- `POST /sites/<site>/bridge/token` - a context token for the signed-in person on the
  issue (or the project, on a project page).
- `POST /sites/<site>/bridge/iframe` - a freshly signed iframe URL of one of the app's
  modules, with the page's `ac.*` parameters for the module's URL template.
- `GET /sites/<site>/images/icons/issuetypes/<name>.svg` - the icons an issue type's
  `iconUrl` names.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from agiletoolbox.simulator.cloud import SESSION_HEADER, Cloud
from agiletoolbox.simulator.issueview import site_of
from agiletoolbox.simulator.pages import context_token, iframe_url
from agiletoolbox.simulator.site import Installation, Issue, Site, User


async def _signed_in(request: web.Request) -> tuple[Cloud, Site, User, dict[str, Any]]:
    cloud, site = site_of(request)
    user = cloud.session_user(site, request.headers.get(SESSION_HEADER))
    if user is None:
        raise web.HTTPUnauthorized(text="Sign in first")
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="JSON body expected") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return cloud, site, user, body


def _issue_of(site: Site, body: dict[str, Any]) -> Issue | None:
    key = body.get("issue")
    if key is None:
        return None
    issue = site.issue(str(key))
    if issue is None:
        raise web.HTTPNotFound(text="No such issue")
    return issue


def _installation(site: Site, body: dict[str, Any]) -> Installation:
    app_key = body.get("app")
    try:
        installation = site.installation(app_key if isinstance(app_key, str) else None)
    except LookupError:
        raise web.HTTPNotFound(text="The app is not installed") from None
    if not installation.active:
        raise web.HTTPNotFound(text="The app is not enabled")
    return installation


def project_of(site: Site, body: dict[str, Any]) -> tuple[str, str] | None:
    key = body.get("project")
    if key is None:
        return None
    for issue in site.issues.values():
        if issue.project_key == key:
            return issue.project_id, issue.project_key
    raise web.HTTPNotFound(text="No such project")


def additional_context(body: dict[str, Any]) -> dict[str, str]:
    """The page's `ac.*` parameters the host passes on (names and values as Jira takes)."""
    ac = body.get("ac") or {}
    if not isinstance(ac, dict):
        raise web.HTTPBadRequest(text="ac is an object")
    return {
        name: value
        for name, value in ac.items()
        if isinstance(value, str) and _AC.fullmatch(name) and _AC_VALUE.fullmatch(value)
    }


_AC = re.compile(r"[a-z][a-z0-9_-]{0,30}")
_AC_VALUE = re.compile(r"[A-Za-z0-9_.:-]{0,100}")


async def bridge_token(request: web.Request) -> web.Response:
    """`POST /sites/{site}/bridge/token`: a context token for the page's person and issue
    (or project, on a project page)."""
    cloud, site, user, body = await _signed_in(request)
    token = context_token(
        site,
        _installation(site, body),
        user=user,
        issue=_issue_of(site, body),
        now=cloud.clock(),
        project=project_of(site, body),
    )
    return web.json_response({"token": token}, headers={"Cache-Control": "no-store"})


async def bridge_iframe(request: web.Request) -> web.Response:
    """`POST /sites/{site}/bridge/iframe`: a freshly signed URL of one of the app's modules."""
    cloud, site, user, body = await _signed_in(request)
    module = body.get("module")
    if not isinstance(module, str):
        raise web.HTTPBadRequest(text="Name the module")
    try:
        url = iframe_url(
            site,
            _installation(site, body),
            module,
            user=user,
            issue=_issue_of(site, body),
            now=cloud.clock(),
            project=project_of(site, body),
            extra=additional_context(body),
        )
    except LookupError as missing:
        raise web.HTTPNotFound(text=str(missing)) from None
    return web.json_response({"url": url}, headers={"Cache-Control": "no-store"})


_TYPE_COLOURS = {"story": "#63ba3c", "bug": "#e5493a", "task": "#4bade8", "epic": "#904ee2"}


async def issue_type_icon(request: web.Request) -> web.Response:
    """`GET /sites/{site}/images/icons/issuetypes/{name}.svg`: the icon an issue type's
    `iconUrl` names (a coloured square with the type's initial, as Jira's are drawn)."""
    name = request.match_info["name"]
    colour = _TYPE_COLOURS.get(name)
    if colour is None:
        raise web.HTTPNotFound()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">'
        f'<rect width="16" height="16" rx="2" fill="{colour}"/>'
        '<text x="8" y="12" font-size="10" font-family="sans-serif" text-anchor="middle" '
        f'fill="#fff">{name[0].upper()}</text></svg>'
    )
    return web.Response(
        text=svg, content_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"}
    )


def add_routes(app: web.Application, prefix: str) -> None:
    """Mount the bridge under each site's base path (`/sites/{site}`)."""
    app.router.add_get(prefix + "/images/icons/issuetypes/{name}.svg", issue_type_icon)
    app.router.add_post(prefix + "/bridge/token", bridge_token)
    app.router.add_post(prefix + "/bridge/iframe", bridge_iframe)
