"""The Jira issue view in a browser: the page that hosts the app, and the `AP` bridge.

- `GET /sites/<site>/browse/<KEY>?user=<accountId>` - an issue of the site as Jira's
  issue view shows it (summary, description, details, the app's glance open in the
  right column, the app's dialog from the issue's "Apps" menu), signed in as `user`
  (the first sample user when none is named). A switcher in the top bar changes who
  is signed in, so two windows of one browser can play two teammates: the sign-in
  belongs to the page (sent as the `X-Simulator-Session` header), not to a cookie
  every window shares.
- `GET /sites/<site>/atlassian-connect/all.js` - the iframe's half of the bridge: `AP`
  as the app's page sees it (`context.getToken`, `context.getContext`, `request`,
  `resize`, `sizeToParent`, `user.getCurrentUser`, `dialog.create/close`,
  `flag.create`), talking to the host page by `postMessage` as Atlassian's all.js does.
- `GET /jira-host/<file>` - the host page's half of the bridge and its styles.
- What the host page asks Jira's front end for is in `bridge.py`.

`AP.request` runs in the host page with the person's session: the app's server never
sees it, and the recorder marks it as a browser call.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from aiohttp import web

from agiletoolbox.simulator.cloud import CLOUD, Cloud
from agiletoolbox.simulator.people import avatar_urls
from agiletoolbox.simulator.sample import DESCRIPTIONS, OFF_SCREEN_FIELD
from agiletoolbox.simulator.site import Installation, Issue, Site, User

ASSETS_PREFIX = "/jira-host"
GLANCE_MODULE = "room-glance"
DIALOG_MODULE = "room-dialog"
_ASSETS = {"host.js": "text/javascript", "issue.css": "text/css", "all.js": "text/javascript"}
_SHOWN_FIELDS = ("customfield_10016", "customfield_10040", "customfield_10035")


def _asset(name: str) -> bytes:
    return (resources.files("agiletoolbox.simulator") / "web" / name).read_bytes()


async def serve_asset(request: web.Request) -> web.Response:
    """`GET /jira-host/{name}`."""
    name = request.match_info["name"]
    if name not in _ASSETS:
        raise web.HTTPNotFound()
    return web.Response(
        body=_asset(name),
        content_type=_ASSETS[name],
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


async def all_js(_request: web.Request) -> web.Response:
    """`GET /sites/{site}/atlassian-connect/all.js`: the iframe's `AP`."""
    return web.Response(
        body=_asset("all.js"),
        content_type="text/javascript",
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
    )


def site_of(request: web.Request) -> tuple[Cloud, Site]:
    cloud = request.app[CLOUD]
    site = cloud.sites.get(request.match_info["site"])
    if site is None:
        raise web.HTTPNotFound(text="No such site")
    return cloud, site


def _people(site: Site) -> list[User]:
    return [u for u in site.users.values() if u.active and u.email]


def _app(site: Site) -> Installation | None:
    return next((i for i in site.installations.values() if i.active), None)


def _value_text(site: Site, issue: Issue, field_id: str) -> str:
    field_def = site.fields.get(field_id)
    if field_def is None:
        return "None"
    value = site.value_json(issue, field_def)
    if value is None:
        return "None"
    if isinstance(value, dict):
        return str(value.get("value", "None"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


THEMES = ("light", "dark")
"""The colour modes a person can choose for Jira (`?theme=` on the issue view)."""


def _config(
    cloud: Cloud, site: Site, issue: Issue, user: User, theme: str = "light"
) -> dict[str, Any]:
    installation = _app(site)
    return {
        "site": site.name,
        "theme": theme,
        "basePath": site.base_path,
        "issue": {
            "key": issue.key,
            "id": issue.id,
            "typeId": issue.issuetype_id,
            "projectKey": issue.project_key,
            "projectId": issue.project_id,
        },
        "user": user.account_id,
        "session": cloud.browser_session(site.name, user.account_id),
        "app": None
        if installation is None
        else {"key": installation.app_key, "baseUrl": installation.app_base_url},
        "fields": list(_SHOWN_FIELDS),
    }


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def top_bar(site: Site, user: User, home: str) -> str:
    """Jira's top bar, with the sign-in and theme switchers; the logo leads to `home`."""
    options = "".join(
        f'<option value="{_e(u.account_id)}"{" selected" if u is user else ""}>'
        f"{_e(u.display_name)}</option>"
        for u in _people(site)
    )
    avatar = avatar_urls(site.origin, user.account_id)["32x32"]
    return f"""
<header class="top-bar">
  <a class="logo" href="{_e(home)}" aria-label="Jira home">
    <svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true"><path fill="#1868db"
      d="M11.53 2 3 10.53a1.4 1.4 0 0 0 0 1.94L11.53 21l4.47-4.47-6.53-6.53L16 3.47 14.47 2z"/>
      <path fill="#4c9aff" d="M12.47 2 21 10.53a1.4 1.4 0 0 1 0 1.94L12.47 21 8 16.53l6.53-6.53L8
      3.47 9.53 2z" opacity=".8"/></svg>
    <span>Jira</span>
  </a>
  <nav class="top-nav" aria-label="Jira">
    <span>Your work</span><span class="current">Projects</span><span>Filters</span>
    <span>Dashboards</span><span>Apps</span>
  </nav>
  <span class="spacer"></span>
  <span class="search" aria-hidden="true">Search</span>
  <form class="switcher" method="get" action="">
    <img class="avatar" src="{_e(avatar)}" alt="" width="24" height="24">
    <label for="user-switcher">Signed in as</label>
    <select id="user-switcher" name="user" data-testid="user-switcher">{options}</select>
    <label for="theme-switcher">Theme</label>
    <select id="theme-switcher" name="theme" data-testid="theme-switcher">
      <option value="light">Light</option><option value="dark">Dark</option>
    </select>
    <a class="new-window" href="#" target="_blank" rel="noopener"
       data-testid="other-window">Open as a teammate ↗</a>
  </form>
</header>"""


def sidebar(site: Site, issue: Issue | None, user: User) -> str:
    """The project's sidebar: its issues, and the app's project page."""
    installation = _app(site)
    app_link = (
        f'<h2>Apps</h2><ul><li><a href="{_e(project_page_path(site, installation, user))}"'
        f'{" aria-current=page" if issue is None else ""} data-testid="project-page-link">'
        f"<span>{_e(installation.name)}</span></a></li></ul>"
        if installation
        else ""
    )
    links = "".join(
        f'<li><a href="{_e(site.base_path)}/browse/{_e(i.key)}?user={_e(user.account_id)}"'
        f'{" aria-current=page" if i is issue else ""}><span class="key">{_e(i.key)}</span>'
        f"<span>{_e(i.summary)}</span></a></li>"
        for i in site.issues.values()
    )
    return f"""
<nav class="sidebar" aria-label="Project">
  <div class="project"><span class="project-icon" aria-hidden="true">D</span>
    <span><strong>Demo project</strong><small>Software project</small></span></div>
  {app_link}
  <h2>Issues</h2>
  <ul>{links}</ul>
</nav>"""


PROJECT_PAGE_MODULE = "sessions"


def project_page_path(site: Site, installation: Installation, user: User, extra: str = "") -> str:
    """Where Jira serves a Connect app's project page: `/plugins/servlet/ac/<app>/<module>`
    with the project's key and id (and the page's own `ac.*` parameters, `extra`)."""
    return (
        f"{site.base_path}/plugins/servlet/ac/{installation.app_key}/{PROJECT_PAGE_MODULE}"
        f"?project.key=DEMO&project.id=10000&user={user.account_id}{extra}"
    )


def _details(site: Site, issue: Issue) -> str:
    rows = "".join(
        f'<div class="detail"><dt>{_e(site.fields[f].name)}</dt>'
        f'<dd data-field="{_e(f)}">{_e(_value_text(site, issue, f))}</dd></div>'
        for f in _SHOWN_FIELDS
        if f in site.fields and f != OFF_SCREEN_FIELD
    )
    return f"""
<section class="details" aria-labelledby="details-title">
  <h2 id="details-title">Details</h2>
  <dl>
    <div class="detail"><dt>Assignee</dt><dd>Unassigned</dd></div>
    {rows}
  </dl>
</section>"""


def page_start(title: str, theme: str, config: Mapping[str, object]) -> str:
    """A Jira page's start, to its `<head>`'s end: its title, its colour mode, and the
    configuration the host half of the bridge (`host.js`) reads."""
    data = json.dumps(config).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en" data-color-mode="{_e(theme)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="strict-origin-when-cross-origin">
<title>{_e(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSETS_PREFIX}/issue.css">
<script type="application/json" id="jira-config">{data}</script>
<script type="module" src="{ASSETS_PREFIX}/host.js"></script>
</head>"""


def page_html(cloud: Cloud, site: Site, issue: Issue, user: User, theme: str = "light") -> str:
    """The issue view of `issue` for `user`, in the colour mode `theme` (light or dark)."""
    config = _config(cloud, site, issue, user, theme)
    installation = _app(site)
    app_name = installation.name if installation else ""
    glance = (
        f"""
<section class="glance" aria-labelledby="glance-title">
  <div class="glance-header">
    <img src="{_e(installation.app_base_url)}/static/icon.svg" alt="" width="20" height="20">
    <h2 id="glance-title">{_e(app_name)}</h2>
    <span class="lozenge">Estimate</span>
  </div>
  <div class="panel" id="glance-panel" data-module="{GLANCE_MODULE}"></div>
</section>"""
        if installation
        else '<p class="no-app">The app is not installed on this site.</p>'
    )
    apps_menu = (
        f'<button type="button" class="button" id="open-dialog" data-testid="open-dialog">'
        f"Apps · {_e(app_name)}</button>"
        if installation
        else ""
    )
    description = DESCRIPTIONS.get(issue.key, "No description yet.")
    return f"""{page_start(f"[{issue.key}] {issue.summary} - Jira", theme, config)}
<body>
{top_bar(site, user, f"{site.base_path}/browse/{issue.key}?user={user.account_id}")}
<div class="frame">
{sidebar(site, issue, user)}
<main class="issue">
  <nav class="breadcrumbs" aria-label="Breadcrumbs">
    <span>Projects</span> / <span>Demo project</span> /
    <span class="issue-key" data-testid="issue-key">{_e(issue.key)}</span>
  </nav>
  <div class="columns">
    <div class="issue-main">
      <h1 class="summary">{_e(issue.summary)}</h1>
      <div class="toolbar">
        <button type="button" class="button">Add</button>{apps_menu}
      </div>
      <section class="description"><h2>Description</h2><p>{_e(description)}</p></section>
      <section class="activity"><h2>Activity</h2>
        <p class="muted">Show: <strong>Comments</strong> · History · Work log</p>
        <div class="comment-box" aria-hidden="true">Add a comment…</div>
      </section>
    </div>
    <aside class="issue-side" aria-label="Issue details">
      <div class="status-row"><button type="button" class="button status">To Do ▾</button></div>
      {glance}
      {_details(site, issue)}
    </aside>
  </div>
</main>
</div>
<div id="flags" class="flags" aria-live="polite"></div>
</body>
</html>
"""


async def issue_page(request: web.Request) -> web.Response:
    """`GET /sites/{site}/browse/{issue}?user=`."""
    cloud, site = site_of(request)
    issue = site.issue(request.match_info["issue"])
    if issue is None:
        raise web.HTTPNotFound(text="Issue does not exist or you do not have permission to see it.")
    people = _people(site)
    wanted = request.query.get("user")
    user = site.users.get(wanted) if wanted else people[0] if people else None
    if user is None or not user.active:
        raise web.HTTPNotFound(text="No such person on this site")
    theme = request.query.get("theme", "light")
    if theme not in THEMES:
        raise web.HTTPBadRequest(text="theme is light or dark")
    return web.Response(
        text=page_html(cloud, site, issue, user, theme),
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


async def site_home(request: web.Request) -> web.Response:
    """`GET /sites/{site}/`: the first issue."""
    _cloud, site = site_of(request)
    first = next(iter(site.issues.values()), None)
    if first is None:
        raise web.HTTPNotFound(text="The site has no issues")
    raise web.HTTPFound(f"{site.base_path}/browse/{first.key}")


def add_routes(app: web.Application, prefix: str) -> None:
    """Mount the issue view under each site's base path (`/sites/{site}`)."""
    app.router.add_get(ASSETS_PREFIX + "/{name}", serve_asset)
    app.router.add_get(prefix + "/atlassian-connect/all.js", all_js)
    app.router.add_get(prefix + "/browse/{issue}", issue_page)
    app.router.add_get(prefix + "/", site_home)
