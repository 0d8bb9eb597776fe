"""`JiraSimulator`: a scriptable Jira Cloud, served by one aiohttp application.

Layout of the simulator's origin (e.g. `http://127.0.0.1:PORT`):

- `/install-keys/<kid>` - Atlassian's install-keys server
  (`AGILETOOLBOX_INSTALL_KEYS_URL=<origin>/install-keys`);
- `/app/report-accounts/` - the personal-data API
  (`AGILETOOLBOX_PERSONAL_DATA_URL=<origin>/app/report-accounts/`);
- `/sites/<name>/rest/api/3/...` - each site's REST API; a site's base URL is
  `<origin>/sites/<name>`;
- `/avatars/<account>.svg` - avatar images;
- `/sites/<name>/browse/<KEY>?user=<account>` - the issue view hosting the app, with the
  `AP` bridge at `/sites/<name>/atlassian-connect/all.js` (see `issueview`);
- `/` - a JSON index of the sites and installations (no secrets).

In a test: `async with JiraSimulator() as jira:` starts it on a free port; then
`await jira.install("acme", app_url)`, `jira.iframe_url(...)`, `jira.faults("acme")`,
`jira.recorder.requests`. See the package docstring for the whole surface.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from agiletoolbox.simulator import bridge, issueview, people, privacy, projectpage, rest
from agiletoolbox.simulator.cloud import CLOUD, SESSION_COOKIE, Cloud, PersonalDataApi
from agiletoolbox.simulator.faults import Faults
from agiletoolbox.simulator.forge import ForgePlatform
from agiletoolbox.simulator.keys import KEYS_PREFIX, InstallKeyRing
from agiletoolbox.simulator.lifecycle import Lifecycle
from agiletoolbox.simulator.pages import CONTEXT_TOKEN_SECONDS, context_token, iframe_url
from agiletoolbox.simulator.record import Delivery, Recorder
from agiletoolbox.simulator.residency import RealmMigrations
from agiletoolbox.simulator.sample import populate
from agiletoolbox.simulator.site import SITES_PREFIX, Installation, Issue, Site
from agiletoolbox.simulator.tokens import TokenPolicy

DEFAULT_SITES = ("acme", "globex")
_SESSION = web.AppKey("simulator_session", aiohttp.ClientSession)


class JiraSimulator:
    """A Jira Cloud simulator: sites, lifecycle, signed pages, REST API and faults."""

    def __init__(
        self,
        *,
        sites: Iterable[str] = DEFAULT_SITES,
        clock: Callable[[], float] = time.time,
        policy: TokenPolicy | None = None,
        origin: str | None = None,
        session_key: bytes | None = None,
    ) -> None:
        self.cloud = Cloud(clock=clock, policy=policy or TokenPolicy())
        if session_key is not None:
            self.cloud.session_key = session_key
        self._origin = ""
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.lifecycle = Lifecycle(self.cloud, self._client_session)
        self.forge = ForgePlatform(self.cloud, self._client_session)
        """Forge: invocation tokens, the key set, deliveries and the API gateway."""
        self.migrations = RealmMigrations(self.cloud, self._client_session, self.forge)
        for name in sites:
            self.add_site(name)
        if origin is not None:
            self.bind(origin)

    # -- where things are ------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """Where the simulator listens (`http://host:port`); set by `start` or `bind`."""
        if not self._origin:
            raise RuntimeError("the simulator is not listening yet; start it first")
        return self._origin

    def bind(self, origin: str) -> None:
        """Tell the simulator its origin (when someone else runs `make_app()`)."""
        self._origin = origin.rstrip("/")
        self.forge.origin = self._origin
        for site in self.cloud.sites.values():
            site.origin = self._origin

    @property
    def install_keys_url(self) -> str:
        """The value for `AGILETOOLBOX_INSTALL_KEYS_URL`."""
        return self.origin + KEYS_PREFIX

    @property
    def personal_data_url(self) -> str:
        """The value for `AGILETOOLBOX_PERSONAL_DATA_URL`."""
        return self.origin + privacy.REPORT_PATH

    @property
    def keys(self) -> InstallKeyRing:
        """The install keys (rotate, forget, see which were fetched)."""
        return self.cloud.keys

    @property
    def recorder(self) -> Recorder:
        """Every request the app made and every lifecycle call sent."""
        return self.cloud.recorder

    @property
    def deliveries(self) -> list[Delivery]:
        """The lifecycle calls sent so far."""
        return self.cloud.recorder.deliveries

    @property
    def personal_data(self) -> PersonalDataApi:
        """The personal-data API: closed and updated accounts, cycle period, faults."""
        return self.cloud.personal_data

    # -- sites -----------------------------------------------------------------------------

    def add_site(
        self,
        name: str,
        *,
        realm: str | None = None,
        connect_on_forge: bool = False,
        client_key: str | None = None,
        sample: bool = True,
    ) -> Site:
        """A new site (with project DEMO, its fields and people unless `sample=False`)."""
        if name in self.cloud.sites:
            raise ValueError(f"there is a site {name!r} already")
        site = Site(
            name=name,
            client_key=client_key or str(uuid.uuid4()),
            realm=realm,
            connect_on_forge=connect_on_forge,
            installation_ari=f"ari:cloud:ecosystem::installation/{uuid.uuid4()}",
            origin=self._origin,
        )
        self.cloud.sites[name] = populate(site) if sample else site
        return site

    def site(self, name: str) -> Site:
        """The site called `name`."""
        return self.cloud.site(name)

    def faults(self, site: str) -> Faults:
        """The fault switches of a site."""
        return self.site(site).faults

    def issue(self, site: str, key: str) -> Issue:
        """An issue of a site; `LookupError` if none."""
        issue = self.site(site).issue(key)
        if issue is None:
            raise LookupError(f"{site} has no issue {key}")
        return issue

    def field_value(self, site: str, issue_key: str, field_id: str) -> object:
        """A field's value as Jira's REST API shows it (options as objects, numbers as floats)."""
        the_site = self.site(site)
        return the_site.value_json(self.issue(site, issue_key), the_site.fields[field_id])

    def comments(self, site: str, issue_key: str) -> list[dict[str, Any]]:
        """The issue's comments as Jira keeps them, oldest first (ADF bodies, properties)."""
        return list(self.issue(site, issue_key).comments)

    # -- lifecycle -------------------------------------------------------------------------

    async def install(
        self, site: str, app_url: str, *, rotate_secret: bool = False
    ) -> Installation:
        """Install the app whose descriptor is at `<app_url>/atlassian-connect.json`."""
        return await self.lifecycle.install(self.site(site), app_url, rotate_secret=rotate_secret)

    async def enable(self, site: str, app_key: str | None = None) -> Delivery | None:
        """Enable the app on a site (sends `enabled`)."""
        return await self.lifecycle.enable(self.site(site), app_key)

    async def disable(self, site: str, app_key: str | None = None) -> Delivery | None:
        """Disable the app on a site (sends `disabled`)."""
        return await self.lifecycle.disable(self.site(site), app_key)

    async def uninstall(
        self, site: str, app_key: str | None = None, *, race: bool = False
    ) -> list[Delivery | None]:
        """Uninstall the app from a site (sends `disabled` and `uninstalled`)."""
        return await self.lifecycle.uninstall(self.site(site), app_key, race=race)

    async def redeliver(
        self, site: str, event: str, app_key: str | None = None, times: int = 1
    ) -> list[Delivery | None]:
        """Send a lifecycle event again, as Jira's retries do."""
        return await self.lifecycle.redeliver(self.site(site), event, app_key, times)

    def register_installation(
        self,
        site: str,
        app_key: str,
        *,
        app_base_url: str = "http://app.invalid",
        shared_secret: str | None = None,
        descriptor: dict[str, Any] | None = None,
    ) -> Installation:
        """Record an installation without any callback (for tests of the Jira client)."""
        installation = Installation(
            app_key=app_key,
            app_base_url=app_base_url,
            descriptor=descriptor or {"key": app_key, "baseUrl": app_base_url},
            shared_secret=shared_secret or uuid.uuid4().hex + uuid.uuid4().hex,
            oauth_client_id=str(uuid.uuid4()),
            state="enabled",
        )
        self.site(site).installations[app_key] = installation
        return installation

    # -- what the browser gets ---------------------------------------------------------------

    def iframe_url(
        self,
        site: str,
        module_key: str,
        *,
        user: str,
        issue: str | None = None,
        app_key: str | None = None,
        now: float | None = None,
        project: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> str:
        """The signed URL Jira opens in the iframe of `module_key` for `user` on `issue`, or
        on the project page of `project` with its `ac.*` parameters (`extra`)."""
        the_site = self.site(site)
        project_ids = {i.project_key: i.project_id for i in the_site.issues.values()}
        return iframe_url(
            the_site,
            the_site.installation(app_key),
            module_key,
            user=the_site.users[user],
            issue=self.issue(site, issue) if issue else None,
            now=self.cloud.clock() if now is None else now,
            project=None if project is None else (project_ids.get(project, "10999"), project),
            extra=extra,
        )

    def context_token(
        self,
        site: str,
        *,
        user: str,
        issue: str | None = None,
        app_key: str | None = None,
        now: float | None = None,
        lifetime: int = CONTEXT_TOKEN_SECONDS,
        project: str | None = None,
    ) -> str:
        """The token `AP.context.getToken()` returns to the app's page open on `issue`, or
        on the project page of `project` (`lifetime`: Jira's 15 minutes unless a test
        forges another)."""
        the_site = self.site(site)
        project_ids = {i.project_key: i.project_id for i in the_site.issues.values()}
        return context_token(
            the_site,
            the_site.installation(app_key),
            user=the_site.users[user],
            issue=self.issue(site, issue) if issue else None,
            now=self.cloud.clock() if now is None else now,
            lifetime=lifetime,
            project=None if project is None else (project_ids.get(project, "10999"), project),
        )

    def browser_headers(self, site: str, user: str) -> dict[str, str]:
        """Headers of a request from `user`'s browser signed in to `site` (session cookie)."""
        return {"Cookie": f"{SESSION_COOKIE}={self.cloud.browser_session(site, user)}"}

    # -- serving ---------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application; it owns the client session lifecycle calls use."""
        app = web.Application()
        app[CLOUD] = self.cloud
        app.cleanup_ctx.append(self._client_context)
        app.router.add_get("/", self._index)
        app.router.add_get(KEYS_PREFIX + "/{kid:.+}", self.cloud.keys.serve)
        site_prefix = SITES_PREFIX + "/{site}"
        rest.add_routes(app, site_prefix)
        issueview.add_routes(app, site_prefix)
        projectpage.add_routes(app, site_prefix)
        bridge.add_routes(app, site_prefix)
        people.add_routes(app, site_prefix)
        privacy.add_routes(app, self.forge)
        self.forge.add_routes(app)
        return app

    async def _client_context(self, _app: web.Application) -> AsyncIterator[None]:
        self._session = aiohttp.ClientSession()
        try:
            yield
        finally:
            session, self._session = self._session, None
            await session.close()

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the simulator is not running; start it first")
        return self._session

    async def _index(self, _request: web.Request) -> web.Response:
        sites = [
            {
                "name": site.name,
                "baseUrl": site.base_url,
                "clientKey": site.client_key,
                "realm": site.realm,
                "issues": sorted(site.issues),
                "installations": {k: i.state for k, i in site.installations.items()},
            }
            for site in self.cloud.sites.values()
        ]
        return web.json_response(
            {
                "installKeysUrl": self.install_keys_url,
                "personalDataUrl": self.personal_data_url,
                "sites": sites,
            }
        )

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, origin: str | None = None
    ) -> str:
        """Listen on `host:port` (0 = a free port); return the origin.

        `origin` is how others reach the simulator, when not `http://host:port`.
        """
        if self._runner is not None:
            raise RuntimeError("the simulator is running already")
        runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        if ":" in bound_host:
            bound_host = f"[{bound_host}]"
        self.bind(origin or f"http://{bound_host}:{bound_port}")
        return self.origin

    async def close(self) -> None:
        """Stop listening and close the client session."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> JiraSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
