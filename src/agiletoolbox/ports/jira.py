"""Ports to Jira: the REST client and the keys that sign installs."""

from __future__ import annotations

from typing import Protocol

from agiletoolbox.domain.estimate import EstimateValue, FieldSpec
from agiletoolbox.domain.estimate_comment import EstimateComment
from agiletoolbox.domain.ids import FieldId, IssueKey
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports.forge import UserToken


class JiraClient(Protocol):
    """Calls Jira on behalf of a tenant, authenticated as the app."""

    async def require_issue(self, tenant: Tenant, issue_key: IssueKey) -> None:
        """Return quietly when Jira shows the app the issue; `JiraIssueNotFound` when it
        has none by that key (answers may be remembered for a short while)."""
        ...

    async def field_spec(self, tenant: Tenant, issue_key: IssueKey, field_id: FieldId) -> FieldSpec:
        """The field as the issue's edit screen offers it; `FieldNotOnScreen` when absent."""
        ...

    async def write_estimate(
        self,
        tenant: Tenant,
        issue_key: IssueKey,
        target: FieldSpec,
        value: EstimateValue,
        *,
        user_token: UserToken | None = None,
    ) -> None:
        """Write the estimate, read it back, and return only once Jira holds it; as the
        person of `user_token` when one came with their request."""
        ...

    async def holds_estimate(
        self, tenant: Tenant, issue_key: IssueKey, target: FieldSpec, value: EstimateValue
    ) -> bool:
        """Whether the issue's field shows the estimate already (an earlier write landed)."""
        ...

    async def comment_estimate(
        self,
        tenant: Tenant,
        issue_key: IssueKey,
        comment: EstimateComment,
        *,
        user_token: UserToken | None = None,
    ) -> None:
        """Add the app's comment on a written estimate to the issue, unless it holds that
        comment already (its marker); `JiraError` when Jira refuses it."""
        ...


class InstallKeyProvider(Protocol):
    """Atlassian's public keys for signed installs, by key id."""

    async def public_key(self, kid: str) -> str:
        """The PEM public key for `kid` (fetched once, then cached)."""
        ...
