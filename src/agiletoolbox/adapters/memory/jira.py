"""In-memory Jira: issues with fields, install keys, and the personal-data API."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from attrs import define, field

from agiletoolbox.domain.errors import (
    FieldNotOnScreen,
    JiraError,
    JiraIssueNotFound,
    JiraUnavailable,
    NotFound,
)
from agiletoolbox.domain.estimate import EstimateValue, FieldSpec, FieldType
from agiletoolbox.domain.estimate_comment import EstimateComment
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, TenantKey
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports.forge import UserToken
from agiletoolbox.ports.personal_data import AccountReport, AccountStatus


@define
class MemoryIssue:
    """An issue: its editable fields (by id) and their current values."""

    fields: dict[FieldId, FieldSpec] = field(factory=dict)
    values: dict[FieldId, object] = field(factory=dict)
    comments: list[EstimateComment] = field(factory=list)


@define
class MemoryJira:
    """Jira sites as dictionaries; `fail_writes` makes the next writes fail as Jira would."""

    issues: dict[tuple[TenantKey, IssueKey], MemoryIssue] = field(factory=dict)
    fail_writes: int = 0
    ignore_writes: bool = False
    writes: list[tuple[TenantKey, IssueKey, FieldId, object]] = field(factory=list)
    writers: list[UserToken | None] = field(factory=list)
    """The person's token each write came with (None: as the app)."""
    fail_comments: int = 0
    """How many of the next comments Jira refuses."""
    all_issues_exist: bool = False
    """Whether every issue key names an issue (with no fields on its edit screen) even
    when it was not added: for tests that have no use for Jira's issues."""

    def add_issue(self, tenant: TenantKey, issue_key: IssueKey, *fields: FieldSpec) -> None:
        """Create an issue whose edit screen offers `fields`."""
        self.issues[(tenant, issue_key)] = MemoryIssue({spec.id: spec for spec in fields})

    def _issue(self, tenant: Tenant, issue_key: IssueKey) -> MemoryIssue:
        issue = self.issues.get((tenant.key, issue_key))
        if issue is None and self.all_issues_exist:
            issue = self.issues[(tenant.key, issue_key)] = MemoryIssue({})
        if issue is None:
            raise JiraIssueNotFound(f"Jira has no issue {issue_key} the app may see")
        return issue

    async def require_issue(self, tenant: Tenant, issue_key: IssueKey) -> None:
        """`JiraIssueNotFound` unless the issue exists."""
        self._issue(tenant, issue_key)

    async def field_spec(self, tenant: Tenant, issue_key: IssueKey, field_id: FieldId) -> FieldSpec:
        """The field as the edit screen offers it."""
        spec = self._issue(tenant, issue_key).fields.get(field_id)
        if spec is None:
            raise FieldNotOnScreen(
                f"the field {field_id} is not on the edit screen of {issue_key}; "
                "a Jira admin must add it to the screen"
            )
        return spec

    async def write_estimate(
        self,
        tenant: Tenant,
        issue_key: IssueKey,
        target: FieldSpec,
        value: EstimateValue,
        *,
        user_token: UserToken | None = None,
    ) -> None:
        """Set the field's value and read it back (`user_token` names who wrote it)."""
        issue = self._issue(tenant, issue_key)
        if target.id not in issue.fields:
            raise FieldNotOnScreen(f"the field {target.id} is not on the edit screen")
        if self.fail_writes > 0:
            self.fail_writes -= 1
            raise JiraUnavailable("Jira is not answering; try again in a moment")
        written = value.for_field(target.type)
        stored: object = {"value": written} if target.type is FieldType.OPTION else written
        self.writes.append((tenant.key, issue_key, target.id, stored))
        self.writers.append(user_token)
        if not self.ignore_writes:
            issue.values[target.id] = stored

    async def holds_estimate(
        self, tenant: Tenant, issue_key: IssueKey, target: FieldSpec, value: EstimateValue
    ) -> bool:
        """Whether the field holds what writing `value` stores."""
        written = value.for_field(target.type)
        stored: object = {"value": written} if target.type is FieldType.OPTION else written
        return self._issue(tenant, issue_key).values.get(target.id) == stored

    async def comment_estimate(
        self,
        tenant: Tenant,
        issue_key: IssueKey,
        comment: EstimateComment,
        *,
        user_token: UserToken | None = None,
    ) -> None:
        """Keep the comment unless one with its marker is there already. Looking and
        writing are two calls to Jira: another caller may run in between, as it may there."""
        issue = self._issue(tenant, issue_key)
        if any(held.marker == comment.marker for held in issue.comments):
            return
        await asyncio.sleep(0)
        if self.fail_comments > 0:
            self.fail_comments -= 1
            raise JiraError(f"Jira refused the comment on {issue_key}: no permission to comment")
        issue.comments.append(comment)

    def comments(self, tenant: TenantKey, issue_key: IssueKey) -> list[EstimateComment]:
        """The app's comments on the issue, oldest first."""
        issue = self.issues.get((tenant, issue_key))
        return [] if issue is None else list(issue.comments)

    def value(self, tenant: TenantKey, issue_key: IssueKey, field_id: FieldId) -> object:
        """What the issue's field holds now."""
        issue = self.issues.get((tenant, issue_key))
        if issue is None:
            raise NotFound("no such issue")
        return issue.values.get(field_id)


@define
class MemoryInstallKeys:
    """Install public keys by key id."""

    keys: dict[str, str] = field(factory=dict)

    async def public_key(self, kid: str) -> str:
        """The PEM key for `kid`."""
        try:
            return self.keys[kid]
        except KeyError:
            raise NotFound("unknown install key") from None


@define
class MemoryPersonalData:
    """Atlassian's personal-data API: knows which accounts are closed."""

    closed: set[AccountId] = field(factory=set)
    cycle_period_days: int | None = None
    batches: list[list[AccountId]] = field(factory=list)

    async def report(
        self, tenant: Tenant, accounts: Sequence[tuple[AccountId, datetime]]
    ) -> AccountReport:
        """Answer with the closed accounts of the batch."""
        del tenant
        if len(accounts) > 90:
            raise ValueError("at most 90 accounts per report")
        self.batches.append([account for account, _ in accounts])
        statuses = tuple(
            (account, AccountStatus.CLOSED) for account, _ in accounts if account in self.closed
        )
        return AccountReport(statuses, self.cycle_period_days)
