"""A Connect app's project page, as Jira hosts it in the project's sidebar.

- `GET /sites/<site>/plugins/servlet/ac/<app>/<module>?project.key=&project.id=&user=`
  - the page Jira serves for a `jiraProjectPages` module: the top bar, the project's
  sidebar (the app's page marked current) and the app's iframe filling the content area.
  Parameters named `ac.<name>` are the page's additional context: Jira hands them to the
  module's URL template as `{ac.<name>}` (covered by the iframe's `qsh`), which is how a
  link can open the app on one of its own things (`ac.session=<id>`).

The iframe talks to the host page through the same bridge as the issue view's: its
context token names the project and no issue.
"""

from __future__ import annotations

from aiohttp import web

from agiletoolbox.simulator.bridge import additional_context, project_of
from agiletoolbox.simulator.cloud import Cloud
from agiletoolbox.simulator.issueview import (
    THEMES,
    _app,
    _e,
    _people,
    page_start,
    project_page_path,
    sidebar,
    site_of,
    top_bar,
)
from agiletoolbox.simulator.site import Installation, Site, User


def _page(
    cloud: Cloud,
    site: Site,
    installation: Installation,
    module: str,
    project: tuple[str, str],
    user: User,
    theme: str,
    ac: dict[str, str],
) -> str:
    config: dict[str, object] = {
        "site": site.name,
        "theme": theme,
        "basePath": site.base_path,
        "page": "project",
        "issue": None,
        "project": {"id": project[0], "key": project[1]},
        "ac": ac,
        "module": module,
        "user": user.account_id,
        "session": cloud.browser_session(site.name, user.account_id),
        "app": {"key": installation.app_key, "baseUrl": installation.app_base_url},
        "fields": [],
    }
    home = project_page_path(site, installation, user)
    return f"""{page_start(f"{installation.name} - Demo project - Jira", theme, config)}
<body>
{top_bar(site, user, home)}
<div class="frame">
{sidebar(site, None, user)}
<main class="project-page">
  <nav class="breadcrumbs" aria-label="Breadcrumbs">
    <span>Projects</span> / <span>Demo project</span> / <span>Apps</span>
  </nav>
  <h1 class="page-title">{_e(installation.name)}</h1>
  <div class="panel project-panel" id="project-panel" data-module="{_e(module)}"></div>
</main>
</div>
<div id="flags" class="flags" aria-live="polite"></div>
</body>
</html>
"""


async def project_page(request: web.Request) -> web.Response:
    """`GET /sites/{site}/plugins/servlet/ac/{app}/{module}`."""
    cloud, site = site_of(request)
    installation = _app(site)
    if installation is None or installation.app_key != request.match_info["app"]:
        raise web.HTTPNotFound(text="The app is not installed on this site.")
    project = project_of(site, {"project": request.query.get("project.key", "")})
    if project is None:
        raise web.HTTPNotFound(text="Name the project (project.key)")
    people = _people(site)
    wanted = request.query.get("user")
    user = site.users.get(wanted) if wanted else people[0] if people else None
    if user is None or not user.active:
        raise web.HTTPNotFound(text="No such person on this site")
    theme = request.query.get("theme", "light")
    if theme not in THEMES:
        raise web.HTTPBadRequest(text="theme is light or dark")
    named = {k[3:]: v for k, v in request.query.items() if k.startswith("ac.")}
    ac = additional_context({"ac": named})
    page = _page(cloud, site, installation, request.match_info["module"], project, user, theme, ac)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application, prefix: str) -> None:
    """Mount the project page under each site's base path (`/sites/{site}`)."""
    app.router.add_get(prefix + "/plugins/servlet/ac/{app}/{module}", project_page)
