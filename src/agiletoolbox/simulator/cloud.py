"""The simulated Atlassian cloud: sites, signing keys, sessions, and the log of what happened.

Handlers reach it through the `CLOUD` app key. `endpoint` wraps a site's REST handler
the way Jira's front door works: find the site, authenticate the caller (the app's JWT,
or a person's browser session - cookie or `X-Simulator-Session` - where the endpoint
allows it), apply the site's faults, answer, and record the request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from attrs import define, field, frozen

from agiletoolbox.simulator.faults import Faults
from agiletoolbox.simulator.keys import InstallKeyRing
from agiletoolbox.simulator.qsh import TOKEN_PARAMETER, query_pairs
from agiletoolbox.simulator.record import (
    ANONYMOUS,
    APP,
    BROWSER,
    RecordedRequest,
    Recorder,
)
from agiletoolbox.simulator.sample import TEST_CLOSED_ACCOUNT
from agiletoolbox.simulator.site import Installation, Site, User
from agiletoolbox.simulator.tokens import TokenPolicy, TokenRejected, decode, verify_request_token

SESSION_COOKIE = "cloud.session.token"
SESSION_HEADER = "X-Simulator-Session"
"""The same session value as the cookie, sent by the simulated issue view's own page, so
each window of one browser can be signed in as a different person."""
_AUTH_SCHEME = "jwt "


@define
class PersonalDataApi:
    """Atlassian's personal-data reporting API: which accounts are closed or updated."""

    closed: set[str] = field(factory=lambda: {TEST_CLOSED_ACCOUNT})
    updated: set[str] = field(factory=set)
    cycle_period_days: int | None = 7
    faults: Faults = field(factory=Faults)
    reports: list[list[str]] = field(factory=list)
    """The account ids of every accepted report, batch by batch."""


@frozen
class Caller:
    """Who made a request: the app (with its installation) or a person in a browser."""

    kind: str
    installation: Installation | None = None
    user: User | None = None


@define
class Cloud:
    """Everything the simulated Jira Cloud knows."""

    sites: dict[str, Site] = field(factory=dict)
    keys: InstallKeyRing = field(factory=InstallKeyRing)
    recorder: Recorder = field(factory=Recorder)
    personal_data: PersonalDataApi = field(factory=PersonalDataApi)
    policy: TokenPolicy = field(factory=TokenPolicy)
    clock: Callable[[], float] = time.time
    session_key: bytes = field(factory=lambda: secrets.token_bytes(32), repr=False)
    """What signs people's session cookies; kept across restarts (as Jira keeps its
    sessions), an open issue view stays signed in when the simulator comes back."""

    def site(self, name: str) -> Site:
        """The site called `name`; `LookupError` if there is none."""
        try:
            return self.sites[name]
        except KeyError:
            raise LookupError(f"there is no site {name!r}") from None

    def _mac(self, site: str, account_id: str) -> str:
        message = f"{site}\n{account_id}".encode()
        return hmac.new(self.session_key, message, hashlib.sha256).hexdigest()

    def browser_session(self, site: str, account_id: str) -> str:
        """The session cookie value of `account_id` signed in to `site`."""
        if account_id not in self.site(site).users:
            raise LookupError(f"{account_id} is not a user of {site}")
        return f"{account_id}.{self._mac(site, account_id)}"

    def session_user(self, site: Site, value: str | None) -> User | None:
        """The person a session cookie belongs to, if it is genuine."""
        if not value:
            return None
        account_id, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(site.name, account_id).encode()):
            return None
        user = site.users.get(account_id)
        return user if user is not None and user.active else None


def token_of(request: web.Request) -> str | None:
    """The JWT of a request: `Authorization: JWT …` or one `?jwt=`; `TokenRejected` if both."""
    raw_query = request.raw_path.partition("?")[2]
    in_query = [value for name, value in query_pairs(raw_query) if name == TOKEN_PARAMETER]
    header = request.headers.get("Authorization", "").strip()
    in_header = (
        header[len(_AUTH_SCHEME) :].strip() if header.lower().startswith(_AUTH_SCHEME) else ""
    )
    if len(in_query) > 1 or (in_query and in_header):
        raise TokenRejected("ambiguous token")
    if in_query:
        return in_query[0]
    return in_header or None


def authenticate_app(cloud: Cloud, site: Site, request: web.Request, token: str) -> Installation:
    """The installation whose app signed `request`, verified as Jira does."""
    issuer = decode(token).claims.get("iss")
    if not isinstance(issuer, str):
        raise TokenRejected("missing iss")
    installation = site.installations.get(issuer)
    if installation is None or not installation.active:
        raise TokenRejected("unknown issuer")
    claims = verify_request_token(
        token,
        secret=installation.shared_secret,
        issuer=installation.app_key,
        method=request.method,
        raw_target=request.raw_path,
        base_path=site.base_path,
        now=cloud.clock(),
        policy=cloud.policy,
    )
    audience = claims.get("aud")
    if audience is not None:
        audiences = audience if isinstance(audience, list) else [audience]
        if site.client_key not in audiences:
            raise TokenRejected("audience")
    return installation


def unauthorized() -> web.Response:
    """Jira's answer to a request it cannot authenticate (it never says why; the record does)."""
    response = web.json_response(
        {"message": "Client must be authenticated to access this resource.", "status-code": 401},
        status=401,
    )
    response.headers["WWW-Authenticate"] = 'JWT realm="Atlassian Connect"'
    return response


def failure_response(status: int, headers: dict[str, str], body: bytes) -> web.Response:
    """A fault's answer."""
    return web.Response(status=status, headers=headers, body=body, content_type="application/json")


Handler = Callable[[web.Request, Site, Caller], Awaitable[web.Response]]


def endpoint(handler: Handler, *, browser: bool = False) -> Callable[[web.Request], Any]:
    """A site REST route: authenticate, apply faults, answer, record (module docstring)."""

    async def handle(request: web.Request) -> web.Response:
        cloud = request.app[CLOUD]
        site = cloud.sites.get(request.match_info["site"])
        if site is None:
            return web.json_response({"errorMessages": ["Site not found"]}, status=404)
        caller, failure = _caller(cloud, site, request, browser=browser)
        if failure is not None:
            response = unauthorized()
        else:
            if site.faults.delay:
                await asyncio.sleep(site.faults.delay)
            fault = site.faults.next_failure()
            if fault is not None:
                response = failure_response(fault.status, fault.headers, fault.encoded())
            else:
                response = await handler(request, site, caller)
        cloud.recorder.requests.append(
            RecordedRequest(
                site=site.name,
                method=request.method,
                path=request.path[len(site.base_path) :],
                caller=caller.kind,
                jwt_valid=caller.kind == APP,
                status=response.status,
                failure=failure,
                names_served=response.get(NAMES_SERVED, False),
            )
        )
        return response

    handle.__name__ = getattr(handler, "__name__", "endpoint")
    return handle


def _caller(
    cloud: Cloud, site: Site, request: web.Request, *, browser: bool
) -> tuple[Caller, str | None]:
    try:
        token = token_of(request)
        if token is not None:
            return Caller(APP, installation=authenticate_app(cloud, site, request, token)), None
    except TokenRejected as rejected:
        return Caller(ANONYMOUS), rejected.reason
    if browser:
        session = request.cookies.get(SESSION_COOKIE) or request.headers.get(SESSION_HEADER)
        user = cloud.session_user(site, session)
        if user is not None:
            return Caller(BROWSER, user=user), None
    return Caller(ANONYMOUS), "missing token"


CLOUD = web.AppKey("cloud", Cloud)
"""Where a simulator application keeps its `Cloud`."""

NAMES_SERVED = web.ResponseKey("names_served", bool)
"""Set on an answer that carries people's names, e-mails or avatars."""
