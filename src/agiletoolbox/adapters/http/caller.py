"""Who is calling: the tenant and person a verified token names, and the seam to verify it."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from attrs import field, frozen

from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import AccountId, IssueKey, ProjectKey, TenantKey
from agiletoolbox.ports.forge import UserToken


@frozen
class Caller:
    """A verified caller: the tenant and the person, from the token only, never the body.

    `issue_key` is the issue the token's context names, when it names one; a request that
    acts on a room of another issue is refused. `user_token` is the person's own token for
    Jira when the request brought one (Forge): a write made on their behalf uses it.
    """

    tenant: TenantKey
    account: AccountId
    issue_key: IssueKey | None = None
    user_token: UserToken | None = field(default=None, repr=False)
    project_key: ProjectKey | None = None
    """The project the token's context names (a project page's, or the issue's)."""

    @property
    def project(self) -> ProjectKey | None:
        """The project the caller acts in: the context's, else the issue's."""
        if self.project_key is not None:
            return self.project_key
        return None if self.issue_key is None else self.issue_key.project


def project_key_of(text: str | None) -> ProjectKey | None:
    """A token context's project key, when it names a valid one."""
    if text is None:
        return None
    try:
        return ProjectKey(text)
    except InvalidValue:
        return None


class NotAuthenticated(Exception):
    """The request's credentials are missing or invalid; `reason` is safe to show.

    `status` is 401 unless the credential was genuine but may not be served (403) or could
    not be checked for a fault of ours or Atlassian's (503).
    """

    def __init__(self, reason: str = "authentication required", status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Authenticator(Protocol):
    """One way of proving who calls (Connect context JWT, Forge invocation token)."""

    def claims(self, request: web.Request) -> bool:
        """Whether the request carries this kind of credential at all."""
        ...

    async def authenticate(self, request: web.Request) -> Caller:
        """The verified caller; `NotAuthenticated` when the credential is not valid."""
        ...
