"""The personal-data reporting port (Atlassian's GDPR API)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Protocol

from attrs import frozen

from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.tenant import Tenant


class AccountStatus(Enum):
    """What Atlassian says of a reported account."""

    CLOSED = "closed"
    UPDATED = "updated"


@frozen
class AccountReport:
    """Atlassian's answer to one batch: statuses, and the cycle period it asks for."""

    statuses: tuple[tuple[AccountId, AccountStatus], ...] = ()
    cycle_period_days: int | None = None


class PersonalDataReporter(Protocol):
    """Reports stored account ids to Atlassian, at most 90 per call."""

    async def report(
        self, tenant: Tenant, accounts: Sequence[tuple[AccountId, datetime]]
    ) -> AccountReport:
        """Report one batch; `JiraUnavailable` when told to come back later."""
        ...
