"""What a verified Forge invocation token says, as typed values (forge-remote.md §2.2).

Only the claims of a token whose signature verified are read here. The ones the app
relies on are required and checked - `app.installationId` (an installation ARI, the
tenant), `app.apiBaseUrl` (where Jira is called), `app.id` - and the rest are kept when
present and well formed, dropped when odd: the environment and module, the calling
person (`principal`, UI calls only), and the UI's context (cloud id, site URL, and for
an issue panel the issue and its project).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from attrs import frozen

from agiletoolbox.adapters.forge.errors import ForgeAuthError, ForgeAuthFailure
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import AccountId, IssueKey
from agiletoolbox.domain.site import installation_ari, parse_cloud_id

MAX_TEXT = 256
MAX_URL = 2048
_APP_ARI = re.compile(r"ari:cloud:ecosystem::app/[0-9a-f-]{36}")


@frozen
class ForgeEnvironment:
    """The Forge environment the invocation was made for."""

    type: str | None = None
    id: str | None = None


@frozen
class ForgeModule:
    """The module that made the call (`core:endpoint` for triggers and events)."""

    type: str | None = None
    key: str | None = None


@frozen
class ForgeApp:
    """The `app` claim: which installation, where to call Jira, which version."""

    installation_id: str
    api_base_url: str
    id: str
    app_version: str | None = None
    environment: ForgeEnvironment = ForgeEnvironment()
    module: ForgeModule = ForgeModule()
    context_cloud_ids: tuple[str, ...] = ()
    """The cloud ids `app.installation.contexts` names."""


@frozen
class ForgeIssue:
    """The issue a Jira UI module is open on (an issue panel's extension)."""

    key: IssueKey | None = None
    id: str | None = None
    type_id: str | None = None
    project_key: str | None = None
    project_id: str | None = None


@frozen
class ForgeContext:
    """The `context` claim of a UI call; empty for triggers and events."""

    cloud_id: str | None = None
    site_url: str | None = None
    module_key: str | None = None
    local_id: str | None = None
    extension_type: str | None = None
    issue: ForgeIssue | None = None
    project_key: str | None = None
    """The project the UI is open on (an issue panel's issue's, or a project page's)."""


@frozen
class InvocationContext:
    """A verified invocation: the app claims, the person (if any), the UI context."""

    app: ForgeApp
    principal: AccountId | None
    context: ForgeContext
    expires_at: datetime
    token_id: str | None = None

    @property
    def installation_id(self) -> str:
        """The installation ARI: the tenant this invocation is for."""
        return self.app.installation_id

    @property
    def issue_key(self) -> IssueKey | None:
        """The issue the calling UI is open on, when it names one."""
        return self.context.issue.key if self.context.issue is not None else None

    @property
    def cloud_id(self) -> str | None:
        """The site's cloud id: from the context, else the API base URL or the contexts."""
        if self.context.cloud_id is not None:
            return self.context.cloud_id
        last = self.app.api_base_url.rstrip("/").rpartition("/")[2]
        try:
            return parse_cloud_id(last)
        except InvalidValue:
            return self.app.context_cloud_ids[0] if self.app.context_cloud_ids else None


def member(value: Any, *path: str) -> Any:
    """`value[path[0]][path[1]]...`, or None where a step is not an object."""
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A short printable string (numbers as text), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= limit and value.isprintable():
        return value
    return None


def _refuse(reason: ForgeAuthFailure = ForgeAuthFailure.INVALID_CLAIM) -> ForgeAuthError:
    return ForgeAuthError(reason)


def api_base_url(value: Any, *, production: bool) -> str:
    """The Jira API base URL of the token; https only in production, no query or userinfo."""
    if value is None:
        raise _refuse(ForgeAuthFailure.MISSING_CLAIM)
    url = text(value, MAX_URL)
    parts = urlsplit(url or "")
    if (
        url is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or (production and parts.scheme != "https")
    ):
        raise _refuse()
    return url.rstrip("/")


def _cloud_id(value: Any) -> str | None:
    try:
        return parse_cloud_id(value) if isinstance(value, str) else None
    except InvalidValue:
        return None


def _app(claims: Mapping[str, Any], *, production: bool) -> ForgeApp:
    app = claims.get("app")
    if not isinstance(app, Mapping):
        raise _refuse(ForgeAuthFailure.MISSING_CLAIM)
    installation = app.get("installationId")
    app_id = app.get("id")
    if installation is None or app_id is None:
        raise _refuse(ForgeAuthFailure.MISSING_CLAIM)
    if not isinstance(app_id, str) or not _APP_ARI.fullmatch(app_id):
        raise _refuse()
    try:
        installation_id = installation_ari(installation)
    except InvalidValue:
        raise _refuse() from None
    contexts = member(app, "installation", "contexts")
    cloud_ids = tuple(
        found
        for entry in (contexts if isinstance(contexts, list) else [])[:MAX_TEXT]
        if (found := _cloud_id(member(entry, "cloudId"))) is not None
    )
    return ForgeApp(
        installation_id=installation_id,
        api_base_url=api_base_url(app.get("apiBaseUrl"), production=production),
        id=app_id,
        app_version=text(app.get("appVersion")),
        environment=ForgeEnvironment(
            text(member(app, "environment", "type")), text(member(app, "environment", "id"))
        ),
        module=ForgeModule(text(member(app, "module", "type")), text(member(app, "module", "key"))),
        context_cloud_ids=cloud_ids,
    )


def _principal(claims: Mapping[str, Any]) -> AccountId | None:
    value = claims.get("principal")
    if value is None:
        return None
    if not isinstance(value, str):
        raise _refuse()
    try:
        return AccountId(value)
    except InvalidValue:
        raise _refuse() from None


def _issue(extension: Any) -> ForgeIssue | None:
    issue = member(extension, "issue")
    if not isinstance(issue, Mapping):
        return None
    key = text(issue.get("key"))
    try:
        issue_key = IssueKey(key) if key is not None else None
    except InvalidValue:
        # A malformed issue key is no context to trust: the call is treated as naming one
        # that no room can match, rather than as naming none.
        raise _refuse() from None
    return ForgeIssue(
        key=issue_key,
        id=text(issue.get("id")),
        type_id=text(issue.get("typeId")),
        project_key=text(member(extension, "project", "key")),
        project_id=text(member(extension, "project", "id")),
    )


def _context(claims: Mapping[str, Any]) -> ForgeContext:
    context = claims.get("context")
    if not isinstance(context, Mapping):
        return ForgeContext()
    extension = context.get("extension")
    site_url = text(context.get("siteUrl"), MAX_URL)
    return ForgeContext(
        cloud_id=_cloud_id(context.get("cloudId")),
        site_url=site_url if site_url and urlsplit(site_url).scheme in ("http", "https") else None,
        module_key=text(context.get("moduleKey")),
        local_id=text(context.get("localId")),
        extension_type=text(member(extension, "type")),
        issue=_issue(extension),
        project_key=text(member(extension, "project", "key")),
    )


def invocation_context(
    claims: Mapping[str, Any], *, expires_at: datetime, production: bool
) -> InvocationContext:
    """The typed claims of a verified token; `ForgeAuthError` when a required one is bad."""
    return InvocationContext(
        app=_app(claims, production=production),
        principal=_principal(claims),
        context=_context(claims),
        expires_at=expires_at,
        token_id=text(claims.get("jti")),
    )
