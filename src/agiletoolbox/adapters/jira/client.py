"""`ConnectJiraClient`: the `JiraClient` port over Jira Cloud's REST API, as a Connect app.

Calls (connect.md §6), each signed as the app with the tenant's shared secret:

- `GET /rest/api/3/issue/{key}/editmeta` - the fields the issue's edit screen offers,
  with their types and options: the source of `field_spec` and `list_fields`;
- `PUT /rest/api/3/issue/{key}` with `{"fields": {id: value}}` - the write (204);
- `GET /rest/api/3/issue/{key}?fields={id}` - the read-back: the estimate counts as
  written only once Jira shows it in the field;
- `GET|POST /rest/api/3/issue/{key}/comment` - the comment on a written estimate, looked
  for by its property first (`comments.py`).

Jira's answers become domain errors the UI can explain: 401/403 `JiraAccessDenied`,
404 `JiraIssueNotFound`, the "not on the appropriate screen" 400 `FieldNotOnScreen`,
5xx and timeouts `JiraUnavailable` (429/503 after bounded retries: `JiraBusy`), a
read-back that does not show the value `EstimateNotConfirmed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from attrs import define, field, frozen

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.jira.comments import (
    COMMENTS_PATH,
    NEWEST_COMMENTS,
    comment_body,
    holds_marker,
)
from agiletoolbox.adapters.jira.fields import (
    estimate_fields,
    holds,
    jira_reason,
    off_screen_message,
    payload_value,
    refused_as_off_screen,
    spec_from_metadata,
    unsupported_message,
)
from agiletoolbox.adapters.jira.transport import JiraResponse, SignedTransport
from agiletoolbox.domain.errors import (
    EstimateNotConfirmed,
    FieldNotOnScreen,
    InvalidValue,
    JiraAccessDenied,
    JiraError,
    JiraIssueNotFound,
    JiraUnavailable,
)
from agiletoolbox.domain.estimate import EstimateValue, FieldSpec
from agiletoolbox.domain.estimate_comment import EstimateComment
from agiletoolbox.domain.ids import FieldId, IssueKey
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports.clock import Clock
from agiletoolbox.ports.forge import UserToken

ISSUE_PATH = "/rest/api/3/issue/{key}"
EDITMETA_PATH = "/rest/api/3/issue/{key}/editmeta"


class BearerToken(Protocol):
    """A Forge bearer: where to call Jira and with which token."""

    @property
    def api_base_url(self) -> str:
        """The invocation's `app.apiBaseUrl`."""
        ...

    @property
    def token(self) -> str:
        """The OAuth token (never logged)."""
        ...


class ForgeBearers(Protocol):
    """Which Forge token, if any, a call for a tenant uses (`ForgeCredentials`)."""

    async def bearer_for(
        self, tenant: Tenant, *, user_token: UserToken | None, now: datetime
    ) -> BearerToken | None:
        """The bearer of the call (as the person of `user_token`, when given and good);
        None to call the Connect way."""
        ...


def check_status(response: JiraResponse, issue_key: IssueKey) -> None:
    """Return quietly on 2xx; otherwise raise the domain error the status means."""
    status = response.status
    if response.ok:
        return
    if status in (401, 403):
        raise JiraAccessDenied(
            "Jira refused the app access; check that the app is still installed and "
            "allowed to read and edit the issue"
        )
    if status == 404:
        raise JiraIssueNotFound(f"Jira has no issue {issue_key} that the app may see")
    if status >= 500 or status == 408:
        raise JiraUnavailable("Jira failed to answer; try again in a moment")
    raise JiraError(f"Jira refused the request for {issue_key} (HTTP {status})")


def _object(response: JiraResponse) -> Mapping[str, Any]:
    if not isinstance(response.body, Mapping):
        raise JiraUnavailable("Jira answered with something the app cannot read")
    return response.body


ISSUE_FOUND_FOR = timedelta(minutes=1)
"""How long an issue Jira showed is taken to exist without asking again."""
ISSUE_MISSING_FOR = timedelta(seconds=10)
"""How long an issue Jira did not show is taken to be missing without asking again."""
ISSUES_REMEMBERED = 10_000
"""The most answers kept (the oldest go first)."""


@define
class KnownIssues:
    """Jira's recent answers on whether an issue exists, per site, for a short while:
    opening rooms in a burst asks Jira once per issue, and a flood of made-up keys once
    per key."""

    clock: Clock = field(factory=SystemClock)
    _answers: dict[tuple[str, str], tuple[datetime, bool]] = field(factory=dict)

    def get(self, tenant: Tenant, issue_key: IssueKey) -> bool | None:
        """The answer still fresh, if any."""
        answer = self._answers.get((tenant.key.value, issue_key.value))
        if answer is None or answer[0] <= self.clock.now():
            return None
        return answer[1]

    def put(self, tenant: Tenant, issue_key: IssueKey, exists: bool) -> None:
        """Remember an answer."""
        now = self.clock.now()
        key = (tenant.key.value, issue_key.value)
        self._answers.pop(key, None)
        while len(self._answers) >= ISSUES_REMEMBERED:
            del self._answers[next(iter(self._answers))]
        self._answers[key] = (now + (ISSUE_FOUND_FOR if exists else ISSUE_MISSING_FOR), exists)


@frozen
class ConnectJiraClient:
    """Reads fields and writes estimates on tenants' Jira sites, as the Connect app.

    With `forge`, a tenant that has a Forge installation is called with a Forge bearer
    token at its API base URL instead (the user's token for the estimate's write).
    """

    transport: SignedTransport
    forge: ForgeBearers | None = None
    known: KnownIssues = field(factory=KnownIssues)

    async def _send(
        self,
        tenant: Tenant,
        method: str,
        path: str,
        *,
        params: tuple[tuple[str, str], ...] = (),
        json_body: object = None,
        user_token: UserToken | None = None,
    ) -> JiraResponse:
        bearer = None
        if self.forge is not None:
            now = self.transport.clock.now()
            bearer = await self.forge.bearer_for(tenant, user_token=user_token, now=now)
        # A bearer, when there is one, replaces the JWT signed with the shared secret.
        return await self.transport.request(
            method,
            base_url=tenant.base_url if bearer is None else bearer.api_base_url,
            path=path,
            params=params,
            json_body=json_body,
            secret=tenant.shared_secret,
            bearer=None if bearer is None else bearer.token,
        )

    async def _get(
        self, tenant: Tenant, path: str, issue_key: IssueKey, params: tuple[tuple[str, str], ...]
    ) -> Mapping[str, Any]:
        response = await self._send(tenant, "GET", path, params=params)
        check_status(response, issue_key)
        return _object(response)

    async def require_issue(self, tenant: Tenant, issue_key: IssueKey) -> None:
        """Ask Jira, as the app, whether it shows the issue (`JiraIssueNotFound` when it
        does not); answers are remembered briefly (`KnownIssues`)."""
        exists = self.known.get(tenant, issue_key)
        if exists is None:
            path = ISSUE_PATH.format(key=issue_key.value)
            response = await self._send(tenant, "GET", path, params=(("fields", "issuetype"),))
            if response.status == 404:
                exists = False
            else:
                check_status(response, issue_key)
                exists = True
            self.known.put(tenant, issue_key, exists)
        if not exists:
            raise JiraIssueNotFound(f"Jira has no issue {issue_key} that the app may see")

    async def _editable_fields(self, tenant: Tenant, issue_key: IssueKey) -> Mapping[str, Any]:
        body = await self._get(tenant, EDITMETA_PATH.format(key=issue_key.value), issue_key, ())
        fields = body.get("fields")
        if not isinstance(fields, Mapping):
            raise JiraUnavailable("Jira answered with something the app cannot read")
        return fields

    async def field_spec(self, tenant: Tenant, issue_key: IssueKey, field_id: FieldId) -> FieldSpec:
        """The field as the issue's edit screen offers it.

        `FieldNotOnScreen` when the edit metadata does not list it (it is not on the
        screen, hidden, or unknown); `InvalidValue` when its type cannot hold an estimate.
        """
        fields = await self._editable_fields(tenant, issue_key)
        metadata = fields.get(field_id.value)
        if metadata is None:
            raise FieldNotOnScreen(off_screen_message(field_id, issue_key))
        spec = spec_from_metadata(field_id, metadata)
        if spec is None:
            raise InvalidValue(unsupported_message(field_id))
        return spec

    async def list_fields(self, tenant: Tenant, issue_key: IssueKey) -> tuple[FieldSpec, ...]:
        """The custom fields of the issue that can hold an estimate now: ids and types only.

        Field names are not returned: the browser reads them from Jira itself.
        """
        return estimate_fields(await self._editable_fields(tenant, issue_key))

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
        person of `user_token` (Forge) when their request brought one."""
        path = ISSUE_PATH.format(key=issue_key.value)
        response = await self._send(
            tenant,
            "PUT",
            path,
            json_body={"fields": {target.id.value: payload_value(target, value)}},
            user_token=user_token,
        )
        if response.status == 400:
            if refused_as_off_screen(response.body):
                raise FieldNotOnScreen(off_screen_message(target.id, issue_key))
            reason = jira_reason(response.body, target.id)
            raise JiraError(
                f"Jira refused the estimate {value.label!r} for the field {target.id}"
                + (f": {reason}" if reason else "")
            )
        check_status(response, issue_key)
        if not await self.holds_estimate(tenant, issue_key, target, value):
            raise EstimateNotConfirmed(
                f"Jira accepted the estimate for {issue_key}, but the field {target.id} does "
                f"not show {value.label!r}; an automation rule or another edit may have "
                "changed it. Check the issue and accept the estimate again."
            )

    async def holds_estimate(
        self, tenant: Tenant, issue_key: IssueKey, target: FieldSpec, value: EstimateValue
    ) -> bool:
        """Whether the issue's field shows the estimate now (read back from Jira)."""
        path = ISSUE_PATH.format(key=issue_key.value)
        issue = await self._get(tenant, path, issue_key, (("fields", target.id.value),))
        fields = issue.get("fields")
        actual = fields.get(target.id.value) if isinstance(fields, Mapping) else None
        return holds(target, value, actual)

    async def comment_estimate(
        self,
        tenant: Tenant,
        issue_key: IssueKey,
        comment: EstimateComment,
        *,
        user_token: UserToken | None = None,
    ) -> None:
        """Add the comment on a written estimate unless the issue holds it already (found
        by its marker among the newest comments); `JiraError` when Jira refuses it."""
        path = COMMENTS_PATH.format(key=issue_key.value)
        params = (
            ("expand", "properties"),
            ("orderBy", "-created"),
            ("maxResults", str(NEWEST_COMMENTS)),
        )
        if holds_marker(await self._get(tenant, path, issue_key, params), comment.marker):
            return
        fields = await self._editable_fields(tenant, issue_key)
        metadata = fields.get(comment.field_id.value)
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        field_name = name if isinstance(name, str) and name else comment.field_id.value
        response = await self._send(
            tenant,
            "POST",
            path,
            json_body=comment_body(comment, field_name),
            user_token=user_token,
        )
        if response.status == 400:
            reason = jira_reason(response.body, FieldId("comment"))
            raise JiraError(
                f"Jira refused the comment on {issue_key}" + (f": {reason}" if reason else "")
            )
        check_status(response, issue_key)
