"""Retention: how long data may live, and what is due for purging at a given moment.

One policy object holds every window. Deciding is pure - "what is due at `now`" over plain
summaries - and a service carries the decision out. A thing is due once it is strictly
older than its window, so the cutoffs are exclusive: due when `at < cutoff`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from attrs import Attribute, field, frozen
from attrs.converters import optional
from attrs.validators import instance_of

from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import RoomId, TenantKey
from agiletoolbox.domain.standing import TenantState
from agiletoolbox.domain.timing import utc

MAX_DAYS = 3650
# Atlassian's personal-data cycle is 7 days; closed accounts must go at least that often.
ACCOUNT_REPORT_MAX_DAYS = 7


def _days(maximum: int) -> Callable[[object, Attribute[int], int], None]:
    def check(_instance: object, attribute: Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise InvalidValue(
                f"{attribute.name} must be a whole number of days from 1 to {maximum}"
            )

    return check


ABANDONED_COPY_AFTER = timedelta(hours=48)
"""How long a copy that arrived from another region may wait for its commit.

Atlassian's migration window is 24 hours at most; a copy older than twice that was
abandoned (its source could not reach this deployment to roll it back).
"""


@frozen
class PurgeCutoffs:
    """The moments before which each kind of data is due for purging."""

    uninstalled_before: datetime
    idle_room_before: datetime
    error_report_before: datetime
    abandoned_copy_before: datetime


@frozen
class TenantSummary:
    """What the purge needs to know of a tenant."""

    key: TenantKey = field(validator=instance_of(TenantKey))
    state: TenantState = field(validator=instance_of(TenantState))
    uninstalled_at: datetime | None = field(default=None, converter=optional(utc))

    def __attrs_post_init__(self) -> None:
        if (self.state is TenantState.UNINSTALLED) != (self.uninstalled_at is not None):
            raise InvalidValue("a tenant has an uninstall time exactly when it is uninstalled")


@frozen
class RoomSummary:
    """What the purge needs to know of a room."""

    tenant: TenantKey = field(validator=instance_of(TenantKey))
    room: RoomId = field(validator=instance_of(RoomId))
    last_activity_at: datetime = field(converter=utc)
    persistent: bool = field(default=False, validator=instance_of(bool))


@frozen
class ErrorReportSummary:
    """What the purge needs to know of an error report."""

    id: str = field(validator=instance_of(str))
    at: datetime = field(converter=utc)
    tenant: TenantKey | None = None


@frozen
class PurgePlan:
    """What is due for purging at one moment, in a stable order.

    Rooms and error reports of a tenant in `tenants` are left out: purging a tenant
    deletes every row it owns.
    """

    tenants: tuple[TenantKey, ...] = ()
    rooms: tuple[tuple[TenantKey, RoomId], ...] = ()
    error_reports: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether nothing is due."""
        return not (self.tenants or self.rooms or self.error_reports)


@frozen
class RetentionPolicy:
    """How many days each kind of data lives; operators may change the defaults."""

    uninstalled_days: int = field(default=30, validator=_days(MAX_DAYS))
    idle_room_days: int = field(default=90, validator=_days(MAX_DAYS))
    error_report_days: int = field(default=30, validator=_days(MAX_DAYS))
    account_report_interval_days: int = field(default=7, validator=_days(ACCOUNT_REPORT_MAX_DAYS))

    def cutoffs(self, now: datetime) -> PurgeCutoffs:
        """The cutoffs at `now`: data strictly older than each is due."""
        now = utc(now)
        return PurgeCutoffs(
            uninstalled_before=now - timedelta(days=self.uninstalled_days),
            idle_room_before=now - timedelta(days=self.idle_room_days),
            error_report_before=now - timedelta(days=self.error_report_days),
            abandoned_copy_before=now - ABANDONED_COPY_AFTER,
        )

    def tenant_due(
        self, state: TenantState, uninstalled_at: datetime | None, now: datetime
    ) -> bool:
        """Whether a tenant's data is due: uninstalled longer ago than the window."""
        if state is not TenantState.UNINSTALLED:
            return False
        if uninstalled_at is None:
            raise InvalidValue("an uninstalled tenant needs its uninstall time")
        return utc(uninstalled_at) < self.cutoffs(now).uninstalled_before

    def room_due(self, last_activity_at: datetime, persistent: bool, now: datetime) -> bool:
        """Whether a room is due: not persistent and idle longer than the window."""
        return not persistent and utc(last_activity_at) < self.cutoffs(now).idle_room_before

    def error_report_due(self, at: datetime, now: datetime) -> bool:
        """Whether an error report is due: older than the window."""
        return utc(at) < self.cutoffs(now).error_report_before

    def account_report_interval(self, cycle_period_days: int | None) -> timedelta:
        """Time between personal-data reporting cycles.

        Atlassian's `Cycle-Period` header overrides the policy, but never beyond
        `ACCOUNT_REPORT_MAX_DAYS`: closed accounts are erased at least that often.
        """
        if cycle_period_days is None:
            return timedelta(days=self.account_report_interval_days)
        if (
            isinstance(cycle_period_days, bool)
            or not isinstance(cycle_period_days, int)
            or cycle_period_days < 1
        ):
            raise InvalidValue("a cycle period is a whole number of days, at least 1")
        return timedelta(days=min(cycle_period_days, ACCOUNT_REPORT_MAX_DAYS))

    def next_accounts_report_at(
        self, last_cycle_at: datetime | None, cycle_period_days: int | None
    ) -> datetime | None:
        """When the next reporting cycle is due; None when none has run (due at once)."""
        interval = self.account_report_interval(cycle_period_days)
        return None if last_cycle_at is None else utc(last_cycle_at) + interval

    def accounts_report_due(
        self, last_cycle_at: datetime | None, cycle_period_days: int | None, now: datetime
    ) -> bool:
        """Whether the personal-data reporting cycle should run at `now`."""
        due_at = self.next_accounts_report_at(last_cycle_at, cycle_period_days)
        return due_at is None or due_at <= utc(now)

    def plan_purge(
        self,
        now: datetime,
        *,
        tenants: Iterable[TenantSummary] = (),
        rooms: Iterable[RoomSummary] = (),
        error_reports: Iterable[ErrorReportSummary] = (),
    ) -> PurgePlan:
        """Everything due for purging at `now`."""
        now = utc(now)
        gone = {t.key for t in tenants if self.tenant_due(t.state, t.uninstalled_at, now)}
        idle = {
            (r.tenant, r.room)
            for r in rooms
            if r.tenant not in gone and self.room_due(r.last_activity_at, r.persistent, now)
        }
        old = {
            e.id for e in error_reports if e.tenant not in gone and self.error_report_due(e.at, now)
        }
        return PurgePlan(
            tenants=tuple(sorted(gone)), rooms=tuple(sorted(idle)), error_reports=tuple(sorted(old))
        )
