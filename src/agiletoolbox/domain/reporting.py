"""Where a tenant stands in Atlassian's personal-data reporting cycle.

Every stored account id is reported at least once a cycle; a cycle that is cut short (the
API asked to come back later, the process stopped) resumes after the last account it
reported, so a restart neither skips nor repeats a batch.
"""

from __future__ import annotations

from datetime import datetime

from attrs import evolve, field, frozen
from attrs.converters import optional

from agiletoolbox.domain.ids import AccountId, TenantKey
from agiletoolbox.domain.timing import utc


@frozen
class ReportCycle:
    """A tenant's reporting state: the last finished cycle, and a running one's position."""

    tenant: TenantKey
    last_completed_at: datetime | None = None
    cycle_period_days: int | None = None
    # The last account reported in the running cycle; None when no cycle is running.
    cursor: AccountId | None = None
    # Atlassian asked to come back no earlier than this (Retry-After); None when it did not.
    not_before: datetime | None = field(default=None, converter=optional(utc))

    @property
    def running(self) -> bool:
        """Whether a cycle was started and not finished."""
        return self.cursor is not None

    def waiting(self, now: datetime) -> bool:
        """Whether Atlassian asked to be left alone until later than `now`."""
        return self.not_before is not None and utc(now) < self.not_before

    def advanced(self, cursor: AccountId, cycle_period_days: int | None) -> ReportCycle:
        """The state after one more batch was reported."""
        return evolve(
            self,
            cursor=cursor,
            cycle_period_days=cycle_period_days or self.cycle_period_days,
            not_before=None,
        )

    def deferred(self, until: datetime) -> ReportCycle:
        """The state when Atlassian asked the app to come back at `until` at the earliest."""
        return evolve(self, not_before=until)

    def completed(self, now: datetime) -> ReportCycle:
        """The state once every account of the cycle was reported."""
        return evolve(self, last_completed_at=now, cursor=None, not_before=None)
