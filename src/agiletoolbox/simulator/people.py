"""People: `GET /rest/api/3/user/bulk`, `GET /rest/api/3/myself`, and avatar images.

These serve names, e-mails and avatars - personal data the app's server must never
fetch or keep. Browsers (a signed-in person's session, the way `AP.request` runs) get
them; the app's JWT is accepted too, as Jira would, but the request is recorded with
`names_served`, so a test can assert `recorder.names_served_to_app()` stays empty.
`myself` with the app's JWT answers the app's own bot user, which names no person.
"""

from __future__ import annotations

import uuid
from html import escape
from typing import Any

from aiohttp import web

from agiletoolbox.simulator.answers import errors
from agiletoolbox.simulator.cloud import CLOUD, NAMES_SERVED, Caller, endpoint
from agiletoolbox.simulator.qsh import query_pairs
from agiletoolbox.simulator.record import APP
from agiletoolbox.simulator.site import Installation, Site, User

AVATARS_PREFIX = "/avatars"
MAX_BULK = 200
_COLOURS = ("#0052cc", "#00875a", "#ff5630", "#6554c0", "#ff991f", "#00b8d9")


def avatar_urls(origin: str, account_id: str) -> dict[str, str]:
    """The avatar URLs of an account, by size."""
    url = f"{origin}{AVATARS_PREFIX}/{account_id}.svg"
    return {
        size: f"{url}?s={size.partition('x')[0]}" for size in ("48x48", "24x24", "16x16", "32x32")
    }


def user_json(site: Site, user: User) -> dict[str, Any]:
    """A user as Jira's REST API shows one."""
    return {
        "self": f"{site.base_url}/rest/api/3/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "accountType": "atlassian",
        "emailAddress": user.email,
        "avatarUrls": avatar_urls(site.origin, user.account_id),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "locale": user.locale,
    }


def _with_names(response: web.Response) -> web.Response:
    response[NAMES_SERVED] = True
    return response


def _bounded(text: str | None, default: int, top: int) -> int:
    if text is None or not text.isdigit():
        return default
    return min(int(text), top)


async def bulk(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET /rest/api/3/user/bulk?accountId=…&accountId=…` (`startAt`, `maxResults` 10)."""
    params = query_pairs(request.raw_path.partition("?")[2])
    wanted = [value for name, value in params if name == "accountId"]
    if not wanted:
        return errors(400, ["The accountId query parameter needs to be provided."], {})
    if len(wanted) > MAX_BULK:
        return errors(400, [f"A maximum of {MAX_BULK} account ids can be requested."], {})
    found = [site.users[a] for a in dict.fromkeys(wanted) if a in site.users]
    first = dict(params)
    start = _bounded(first.get("startAt"), 0, len(found))
    size = max(1, _bounded(first.get("maxResults"), 10, MAX_BULK))
    page = found[start : start + size]
    body: dict[str, Any] = {
        "self": f"{site.base_url}{request.path_qs[len(site.base_path) :]}",
        "maxResults": size,
        "startAt": start,
        "total": len(found),
        "isLast": start + size >= len(found),
        "values": [user_json(site, user) for user in page],
    }
    response = web.json_response(body)
    return _with_names(response) if page else response


def _app_user(installation: Installation) -> dict[str, Any]:
    account = uuid.uuid5(uuid.NAMESPACE_URL, f"app:{installation.app_key}")
    return {
        "accountId": f"712020:{account}",
        "accountType": "app",
        "displayName": installation.name,
        "active": True,
    }


async def myself(_request: web.Request, site: Site, caller: Caller) -> web.Response:
    """`GET /rest/api/3/myself`: the signed-in person, or the app's own bot user."""
    if caller.kind == APP and caller.installation is not None:
        return web.json_response(_app_user(caller.installation))
    if caller.user is None:
        return errors(401, ["You are not authenticated."], {})
    return _with_names(web.json_response(user_json(site, caller.user)))


def _initials(name: str) -> str:
    return "".join(part[0] for part in name.split()[:2]).upper() or "?"


async def avatar(request: web.Request) -> web.Response:
    """`GET /avatars/{account}.svg`: a round badge with the person's initials."""
    account_id = request.match_info["account"]
    user = next(
        (s.users[account_id] for s in request.app[CLOUD].sites.values() if account_id in s.users),
        None,
    )
    if user is None:
        return web.Response(status=404, text="Not Found")
    colour = _COLOURS[sum(account_id.encode()) % len(_COLOURS)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 48 48">'
        f'<circle cx="24" cy="24" r="24" fill="{colour}"/>'
        '<text x="24" y="30" font-family="sans-serif" font-size="18" fill="#fff" '
        f'text-anchor="middle">{escape(_initials(user.display_name))}</text></svg>'
    )
    return web.Response(text=svg, content_type="image/svg+xml")


def add_routes(app: web.Application, prefix: str) -> None:
    """Mount the people endpoints under each site's base path and the avatars at the root."""
    api = f"{prefix}/rest/api/3"
    app.router.add_get(f"{api}/user/bulk", endpoint(bulk, browser=True))
    app.router.add_get(f"{api}/myself", endpoint(myself, browser=True))
    app.router.add_get(AVATARS_PREFIX + "/{account}.svg", avatar)
