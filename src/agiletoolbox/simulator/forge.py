"""Forge, simulated: invocation tokens, the key set, lifecycle and scheduled deliveries,
and OAuth tokens that the sites' REST API takes as `Authorization: Bearer`.

- `GET /forge/.well-known/jwks.json` - the RSA keys that sign invocation tokens
  (`AGILETOOLBOX_FORGE_JWKS_URL=<origin>/forge/.well-known/jwks.json`);
- `/ex/jira/<cloudId>/rest/api/3/...` - each site's REST API as Forge apps reach it
  through `app.apiBaseUrl`: the same endpoints as `/sites/<name>/...`, authenticated by a
  system or user token this platform issued for an installation that is still there.

Invocation tokens carry the claims of forge-remote.md §2.2 (a UI call from the issue
panel names the issue and the person; a trigger names neither), RS256 with a `kid`,
living 25 seconds. Deliveries (`installed`, `upgraded`, pre-uninstall, `tick`) are POSTs
with a fresh token and system token, retried up to four times on a non-2xx answer or a
timeout, as Forge does; `nested=True` sends the event under `payload`.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from attrs import define, field
from cryptography.hazmat.primitives.asymmetric import rsa

from agiletoolbox.simulator import rest
from agiletoolbox.simulator.cloud import Caller, Cloud, Handler, failure_response, unauthorized
from agiletoolbox.simulator.outbound import send_json
from agiletoolbox.simulator.record import APP, BROWSER, Delivery, RecordedRequest
from agiletoolbox.simulator.site import Site
from agiletoolbox.simulator.tokens import TokenRejected, encode_rs256, verify_hs256

JWKS_PATH = "/forge/.well-known/jwks.json"
API_PREFIX = "/ex/jira"
INVOCATION_SECONDS = 25
OAUTH_SECONDS = 3 * 3600
TIMEOUT_SECONDS = 5.0
ATTEMPTS = 5
"""The first delivery and Forge's four retries."""
INSTALLED = "avi:forge:installed:app"
UPGRADED = "avi:forge:upgraded:app"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@define
class ForgeInstall:
    """The Forge app installed on a site."""

    site: str
    installation_id: str
    app_url: str
    installed: bool = True


@define
class ForgePlatform:
    """The Forge side of the simulator (see the module docstring)."""

    cloud: Cloud
    session: Callable[[], aiohttp.ClientSession]
    app_id: str = field(factory=lambda: f"ari:cloud:ecosystem::app/{uuid.uuid4()}")
    environment_id: str = field(factory=lambda: f"ari:cloud:ecosystem::environment/{uuid.uuid4()}")
    origin: str = ""
    retry_delay: float = 0.0
    """Seconds between delivery attempts (Forge waits 60; tests need not)."""
    oauth_seconds: int = OAUTH_SECONDS
    """How long the OAuth tokens issued from now on live."""
    installs: dict[str, ForgeInstall] = field(factory=dict)
    cloud_ids: dict[str, str] = field(factory=dict)
    jwks_fetches: int = 0
    _keys: dict[str, rsa.RSAPrivateKey] = field(factory=dict, repr=False)
    current_kid: str = ""
    _oauth_secret: str = field(factory=lambda: secrets.token_urlsafe(32), repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.current_kid:
            self.rotate_key()

    # -- identities ------------------------------------------------------------------------

    @property
    def jwks_url(self) -> str:
        """The value for `AGILETOOLBOX_FORGE_JWKS_URL`."""
        return self.origin + JWKS_PATH

    def cloud_id(self, site: str) -> str:
        """The site's cloud id (stable for the simulator's life)."""
        self.cloud.site(site)
        return self.cloud_ids.setdefault(site, str(uuid.uuid4()))

    def api_base_url(self, site: str) -> str:
        """The site's `app.apiBaseUrl`."""
        return f"{self.origin}{API_PREFIX}/{self.cloud_id(site)}"

    def installation_id(self, site: str) -> str:
        """The installation ARI of the app on `site` (the Connect on Forge one, if any)."""
        the_site = self.cloud.site(site)
        if the_site.installation_ari is None:
            the_site.installation_ari = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
        return the_site.installation_ari

    def rotate_key(self) -> str:
        """Sign with a fresh key under a new kid (the old one stays published)."""
        kid = str(uuid.uuid4())
        self._keys[kid] = _new_key()
        self.current_kid = kid
        return kid

    def withdraw_key(self, kid: str) -> None:
        """Stop publishing `kid` (it may still sign: a forgery)."""
        self._keys.pop(kid, None)

    # -- tokens ----------------------------------------------------------------------------

    def invocation_token(
        self,
        site: str,
        *,
        user: str | None = None,
        issue: str | None = None,
        now: float | None = None,
        **overrides: Any,
    ) -> str:
        """A FIT for `site`: a UI call when `user` is given (with `issue`), else a trigger."""
        moment = int(self.cloud.clock() if now is None else now)
        api = self.api_base_url(site)
        installation = self.installation_id(site)
        claims: dict[str, Any] = {
            "app": {
                "id": self.app_id,
                "appVersion": "1.0.0",
                "installationId": installation,
                "apiBaseUrl": api,
                "environment": {"type": "PRODUCTION", "id": self.environment_id},
                "module": {"type": "jira:issuePanel", "key": "poker-panel"}
                if user
                else {"type": "core:endpoint", "key": "forge-remote"},
                "installation": {
                    "id": installation,
                    "contexts": [
                        {"name": "jira", "apiBaseUrl": api, "cloudId": self.cloud_id(site)}
                    ],
                },
            },
            "aud": self.app_id,
            "iss": "forge/invocation-token",
            "iat": moment,
            "nbf": moment,
            "exp": moment + INVOCATION_SECONDS,
            "jti": secrets.token_hex(20),
        }
        if user is not None:
            claims["principal"] = user
            claims["context"] = self._ui_context(site, issue)
        claims.update(overrides)
        return encode_rs256(claims, self._keys[self.current_kid], self.current_kid)

    def _ui_context(self, site: str, issue: str | None) -> dict[str, Any]:
        the_site = self.cloud.site(site)
        extension: dict[str, Any] = {"type": "jira:issuePanel"}
        found = the_site.issue(issue) if issue else None
        if found is not None:
            extension["issue"] = {
                "id": found.id,
                "key": found.key,
                "type": "Story",
                "typeId": found.issuetype_id,
            }
            extension["project"] = {
                "id": found.project_id,
                "key": found.project_key,
                "type": "software",
            }
        return {
            "cloudId": self.cloud_id(site),
            "siteUrl": the_site.base_url,
            "moduleKey": "poker-panel",
            "localId": str(uuid.uuid4()),
            "extension": extension,
        }

    def oauth_token(self, site: str, *, user: str | None = None, now: float | None = None) -> str:
        """A system token (or `user`'s token) for the app on `site` (`oauth_seconds` long)."""
        moment = int(self.cloud.clock() if now is None else now)
        claims = {
            "iss": "forge-simulator",
            "sub": user or self.installation_id(site),
            "kind": "user" if user else "system",
            "cloud": self.cloud_id(site),
            "installation": self.installation_id(site),
            "iat": moment,
            "exp": moment + self.oauth_seconds,
        }
        return jwt.encode(claims, self._oauth_secret, "HS256")

    def headers(self, site: str, *, user: str, issue: str | None = None) -> dict[str, str]:
        """What `invokeRemote` sends from the issue panel: FIT, system and user tokens."""
        return {
            "Authorization": f"Bearer {self.invocation_token(site, user=user, issue=issue)}",
            "x-forge-oauth-system": self.oauth_token(site),
            "x-forge-oauth-user": self.oauth_token(site, user=user),
        }

    def bearer(self, site: Site, token: str) -> Caller | str:
        """The caller an OAuth token speaks for on `site`, or why it is refused."""
        try:
            claims = verify_hs256(token, self._oauth_secret)
        except TokenRejected as rejected:
            return rejected.reason
        install = self.installs.get(site.name)
        if claims.get("cloud") != self.cloud_ids.get(site.name):
            return "another site"
        if (
            install is None
            or not install.installed
            or claims.get("installation") != (install.installation_id)
        ):
            return "not installed"
        expires = claims.get("exp")
        if not isinstance(expires, int) or expires <= self.cloud.clock():
            return "expired"
        if claims.get("kind") == "user":
            user = site.users.get(str(claims.get("sub")))
            return Caller(BROWSER, user=user) if user is not None else "unknown user"
        return Caller(APP)

    # -- deliveries ------------------------------------------------------------------------

    async def install(
        self, site: str, app_url: str, *, nested: bool = False, event: str = INSTALLED
    ) -> Delivery:
        """Install (or upgrade) the Forge app on `site`: the lifecycle event, delivered."""
        install = ForgeInstall(site, self.installation_id(site), app_url.rstrip("/"))
        self.installs[site] = install
        body: dict[str, Any] = {
            "eventType": event,
            "id": install.installation_id.rpartition("/")[2],
            "installerAccountId": "557058:installer",
            "app": {"id": self.app_id.rpartition("/")[2], "version": "1.0.0"},
            "environment": {"id": self.environment_id},
            "context": f"ari:cloud:jira::site/{self.cloud_id(site)}",
        }
        return await self.deliver(site, "/forge/lifecycle", body, event=event, nested=nested)

    async def upgrade(self, site: str, *, nested: bool = False) -> Delivery:
        """Send `avi:forge:upgraded:app` (a major version)."""
        return await self.install(site, self.installs[site].app_url, nested=nested, event=UPGRADED)

    async def uninstall(self, site: str) -> Delivery:
        """Run pre-uninstall, then forget the installation (its tokens stop working)."""
        delivery = await self.deliver(site, "/forge/uninstall", {}, event="preUninstall")
        self.installs[site].installed = False
        return delivery

    async def tick(self, site: str) -> Delivery:
        """The hourly scheduled trigger."""
        body = {"context": {"cloudId": self.cloud_id(site), "moduleKey": "tick"}}
        return await self.deliver(site, "/forge/tick", body, event="tick")

    async def deliver(
        self, site: str, path: str, body: dict[str, Any], *, event: str, nested: bool = False
    ) -> Delivery:
        """POST `body` to the app with Forge's retries; the last attempt's delivery."""
        url = self.installs[site].app_url + path
        reason: str | None = None
        for attempt in range(ATTEMPTS):
            retry = {"retryCount": attempt, "retryReason": reason, "retryData": None}
            payload = {**body, "retryContext": retry}
            delivery = await self._post(
                site, url, {"payload": payload} if nested else payload, event
            )
            if delivery.status is not None and 200 <= delivery.status < 300:
                break
            reason = (
                "INVALID_FORGE_INVOCATION_TOKEN"
                if delivery.status == 401
                else "TIMEOUT_ERROR"
                if delivery.error == "timeout"
                else "INVALID_REMOTE_INVOCATION_ERROR"
            )
            if attempt + 1 < ATTEMPTS:
                await asyncio.sleep(self.retry_delay)
        return delivery

    async def _post(self, site: str, url: str, body: dict[str, Any], event: str) -> Delivery:
        headers = {
            "Authorization": f"Bearer {self.invocation_token(site)}",
            "x-forge-oauth-system": self.oauth_token(site),
            "Content-Type": "application/json",
            "x-b3-traceid": secrets.token_hex(8),
            "x-b3-spanid": secrets.token_hex(8),
        }
        sent = await send_json(self.session(), "POST", url, body, headers, seconds=TIMEOUT_SECONDS)
        delivery = Delivery(
            site=site,
            event=event,
            url=url,
            algorithm="RS256",
            status=sent.status,
            payload=body,
            error=sent.error,
        )
        self.cloud.recorder.deliveries.append(delivery)
        return delivery

    # -- serving ---------------------------------------------------------------------------

    async def serve_jwks(self, _request: web.Request) -> web.Response:
        """`GET /forge/.well-known/jwks.json`."""
        self.jwks_fetches += 1
        keys = []
        for kid, key in self._keys.items():
            entry = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**entry, "kid": kid, "use": "sig", "alg": "RS256"})
        return web.json_response({"keys": keys})

    def endpoint(self, handler: Handler, *, browser: bool = False) -> Callable[[web.Request], Any]:
        """A site REST route under `/ex/jira/<cloudId>`, taking Forge bearer tokens.

        `browser` is accepted for the signature's sake: people's sessions do not reach
        the API gateway.
        """
        del browser

        async def handle(request: web.Request) -> web.Response:
            cloud_id = request.match_info["cloud"]
            name = next((s for s, c in self.cloud_ids.items() if c == cloud_id), None)
            site = self.cloud.sites.get(name) if name is not None else None
            if site is None:
                return web.json_response({"errorMessages": ["Site not found"]}, status=404)
            header = request.headers.get("Authorization", "")
            found = (
                self.bearer(site, header[7:].strip())
                if header[:7].lower() == "bearer "
                else "missing token"
            )
            caller = found if isinstance(found, Caller) else None
            if caller is None:
                response = unauthorized()
            else:
                fault = site.faults.next_failure()
                if fault is not None:
                    response = failure_response(fault.status, fault.headers, fault.encoded())
                else:
                    response = await handler(request, site, caller)
            self.cloud.recorder.requests.append(
                RecordedRequest(
                    site=site.name,
                    method=request.method,
                    path=request.path[len(f"{API_PREFIX}/{cloud_id}") :],
                    caller=f"forge-{'user' if caller and caller.kind == BROWSER else 'app'}"
                    if caller
                    else "anonymous",
                    jwt_valid=False,
                    status=response.status,
                    failure=None if caller else str(found),
                )
            )
            return response

        handle.__name__ = getattr(handler, "__name__", "forge_endpoint")
        return handle

    def add_routes(self, app: web.Application) -> None:
        """Mount the key set and every site's REST API under the gateway prefix."""
        app.router.add_get(JWKS_PATH, self.serve_jwks)
        rest.add_routes(app, API_PREFIX + "/{cloud}", wrap=self.endpoint)
