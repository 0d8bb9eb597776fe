"""`ConnectPersonalDataReporter`: Atlassian's personal-data reporting API (connect.md §7).

`POST <personal-data URL>` with `{"accounts": [{"accountId", "updatedAt"}]}`, at most 90
accounts a request. Authentication is the app's JWT as the reference infers it (the
exact claim set is not documented): HS256 with the reporting site's shared secret, `iss`
the app key, `qsh` over `POST&/app/report-accounts&` - the path relative to the API's
origin; for a site known only through Forge, the installation's system token as a
bearer (how a remote reports is not documented; forge-remote.md §6). Answers: 200 with
the accounts that are `closed` or `updated`, 204 for nothing to do; the `Cycle-Period`
header, when present, is the number of days to wait before reporting an account again.
429 and 503 end in `JiraBusy` with the wait asked for: the scheduled job comes back later
rather than retrying here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from attrs import field, frozen

from agiletoolbox.adapters.jira.client import ForgeBearers
from agiletoolbox.adapters.jira.transport import JiraResponse, SignedTransport
from agiletoolbox.domain.errors import (
    InvalidValue,
    JiraAccessDenied,
    JiraError,
    JiraUnavailable,
)
from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports.personal_data import AccountReport, AccountStatus

DEFAULT_PERSONAL_DATA_URL = "https://api.atlassian.com/app/report-accounts/"
BATCH_SIZE = 90
"""The most accounts Atlassian takes in one request."""

UNKNOWN_ACCOUNT = "unknown"
_DAYS = re.compile(r"[0-9]{1,4}")
_MAX_CYCLE_DAYS = 365
# Enough for any honest answer to a batch of 90, and a bound on a dishonest one.
_MAX_ANSWER_ENTRIES = 1000


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or "@" in url:
        raise ValueError("the personal-data URL must be an absolute http(s) URL")
    return url


def rfc3339(moment: datetime) -> str:
    """`moment` as Atlassian writes times: UTC, milliseconds, `Z`."""
    if moment.tzinfo is None:
        raise ValueError("the time must carry a timezone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_cycle_period(value: str | None) -> int | None:
    """The `Cycle-Period` header in days, or None when absent or not a sane number."""
    if value is None or not _DAYS.fullmatch(value.strip()):
        return None
    days = int(value.strip())
    return days if 1 <= days <= _MAX_CYCLE_DAYS else None


def _statuses(
    body: object, asked: frozenset[AccountId]
) -> tuple[tuple[AccountId, AccountStatus], ...]:
    if not isinstance(body, Mapping) or not isinstance(body.get("accounts"), list):
        raise JiraUnavailable("Atlassian answered the report with something the app cannot read")
    found: dict[AccountId, AccountStatus] = {}
    for entry in body["accounts"][:_MAX_ANSWER_ENTRIES]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("accountId"), str):
            continue
        try:
            account = AccountId(entry["accountId"])
            status = AccountStatus(entry.get("status"))
        except (InvalidValue, ValueError):
            continue
        # Only accounts of this batch: an answer never names others to erase.
        if account in asked:
            found[account] = status
    return tuple(found.items())


@frozen
class ConnectPersonalDataReporter:
    """Reports stored account ids to Atlassian, in batches of at most 90."""

    transport: SignedTransport
    url: str = field(default=DEFAULT_PERSONAL_DATA_URL, converter=_checked_url)
    # A site known only through Forge has no shared secret Atlassian knows: its reports
    # carry the installation's system token instead (inferred, forge-remote.md §6).
    forge: ForgeBearers | None = None

    async def report(
        self, tenant: Tenant, accounts: Sequence[tuple[AccountId, datetime]]
    ) -> AccountReport:
        """Report `accounts` (split into batches of 90) as `tenant`'s app.

        The statuses of every batch are merged; the cycle period is the longest asked for.
        """
        # Atlassian's placeholder for an unknown user is never reported.
        accounts = [entry for entry in accounts if entry[0].value != UNKNOWN_ACCOUNT]
        statuses: list[tuple[AccountId, AccountStatus]] = []
        periods: list[int] = []
        for start in range(0, len(accounts), BATCH_SIZE):
            report = await self._batch(tenant, accounts[start : start + BATCH_SIZE])
            statuses.extend(report.statuses)
            if report.cycle_period_days is not None:
                periods.append(report.cycle_period_days)
        return AccountReport(tuple(statuses), max(periods) if periods else None)

    async def _batch(
        self, tenant: Tenant, accounts: Sequence[tuple[AccountId, datetime]]
    ) -> AccountReport:
        parts = urlsplit(self.url)
        body = {
            "accounts": [
                {"accountId": account.value, "updatedAt": rfc3339(updated)}
                for account, updated in accounts
            ]
        }
        forge_only = (
            tenant.installation_id is not None and tenant.key.value == tenant.installation_id
        )
        bearer = None
        if forge_only and self.forge is not None:
            now = self.transport.clock.now()
            bearer = await self.forge.bearer_for(tenant, user_token=None, now=now)
        response = await self.transport.request(
            "POST",
            base_url=f"{parts.scheme}://{parts.netloc}",
            path=parts.path,
            secret=tenant.shared_secret,
            bearer=None if bearer is None else bearer.token,
            json_body=body,
            retry=False,
        )
        cycle = parse_cycle_period(response.header("Cycle-Period"))
        _check(response)
        if response.status == 204:
            return AccountReport((), cycle)
        asked = frozenset(account for account, _ in accounts)
        return AccountReport(_statuses(response.body, asked), cycle)


def _check(response: JiraResponse) -> None:
    if response.status in (200, 204):
        return
    if response.status in (401, 403):
        raise JiraAccessDenied("Atlassian refused the app's personal-data report")
    if response.status >= 500:
        raise JiraUnavailable("Atlassian's personal-data API failed; try again later")
    raise JiraError(f"Atlassian refused the personal-data report (HTTP {response.status})")
