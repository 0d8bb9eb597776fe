"""Retention: the policy's windows, the due predicates, the purge plan, and monotonicity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import RoomId, TenantKey
from agiletoolbox.domain.retention import (
    ABANDONED_COPY_AFTER,
    ACCOUNT_REPORT_MAX_DAYS,
    MAX_DAYS,
    ErrorReportSummary,
    PurgeCutoffs,
    PurgePlan,
    RetentionPolicy,
    RoomSummary,
    TenantSummary,
)
from agiletoolbox.domain.tenant import TenantState

NOW = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
POLICY = RetentionPolicy()
A, B, C = TenantKey("site-a"), TenantKey("site-b"), TenantKey("site-c")


def room(n: int) -> RoomId:
    """A room id, numbered for readable examples."""
    return RoomId(f"room-{n:012d}")


def days(n: float) -> timedelta:
    """`n` days."""
    return timedelta(days=n)


# -- the policy ----------------------------------------------------------------------------


def test_defaults_follow_the_design() -> None:
    assert (
        POLICY.uninstalled_days,
        POLICY.idle_room_days,
        POLICY.error_report_days,
        POLICY.account_report_interval_days,
    ) == (30, 90, 30, 7)


@pytest.mark.parametrize("name", ["uninstalled_days", "idle_room_days", "error_report_days"])
@pytest.mark.parametrize("value", [0, -1, MAX_DAYS + 1, True, 1.5, "30", None])
def test_windows_are_whole_days_within_bounds(name: str, value: object) -> None:
    with pytest.raises(InvalidValue, match=name):
        RetentionPolicy(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["uninstalled_days", "idle_room_days", "error_report_days"])
def test_windows_accept_their_bounds(name: str) -> None:
    assert getattr(RetentionPolicy(**{name: 1}), name) == 1
    assert getattr(RetentionPolicy(**{name: MAX_DAYS}), name) == MAX_DAYS


def test_the_account_report_interval_never_exceeds_seven_days() -> None:
    assert RetentionPolicy(account_report_interval_days=1).account_report_interval_days == 1
    assert RetentionPolicy(account_report_interval_days=7).account_report_interval_days == 7
    for value in (0, ACCOUNT_REPORT_MAX_DAYS + 1, 30):
        with pytest.raises(InvalidValue):
            RetentionPolicy(account_report_interval_days=value)


def test_cutoffs_at_now() -> None:
    policy = RetentionPolicy(uninstalled_days=10, idle_room_days=20, error_report_days=5)
    assert policy.cutoffs(NOW) == PurgeCutoffs(
        uninstalled_before=NOW - days(10),
        idle_room_before=NOW - days(20),
        error_report_before=NOW - days(5),
        abandoned_copy_before=NOW - ABANDONED_COPY_AFTER,
    )


def test_cutoffs_need_an_aware_now_and_answer_in_utc() -> None:
    with pytest.raises(InvalidValue):
        POLICY.cutoffs(datetime(2026, 6, 1))
    local = NOW.astimezone(timezone(timedelta(hours=-5)))
    assert POLICY.cutoffs(local) == POLICY.cutoffs(NOW)
    assert POLICY.cutoffs(local).uninstalled_before.tzinfo is UTC


# -- predicates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", [TenantState.INSTALLED, TenantState.ENABLED, TenantState.DISABLED]
)
def test_only_uninstalled_tenants_are_ever_due(state: TenantState) -> None:
    assert not POLICY.tenant_due(state, None, NOW)
    assert not POLICY.tenant_due(state, NOW - days(1000), NOW)


def test_an_uninstalled_tenant_is_due_once_strictly_past_its_window() -> None:
    exactly = NOW - days(30)
    assert not POLICY.tenant_due(TenantState.UNINSTALLED, exactly, NOW)
    assert POLICY.tenant_due(TenantState.UNINSTALLED, exactly - TICK, NOW)
    assert not POLICY.tenant_due(TenantState.UNINSTALLED, NOW, NOW)


def test_an_uninstalled_tenant_needs_its_uninstall_time() -> None:
    with pytest.raises(InvalidValue):
        POLICY.tenant_due(TenantState.UNINSTALLED, None, NOW)


def test_idle_rooms_are_due_unless_persistent() -> None:
    exactly = NOW - days(90)
    assert not POLICY.room_due(exactly, False, NOW)
    assert POLICY.room_due(exactly - TICK, False, NOW)
    assert not POLICY.room_due(exactly - days(3000), True, NOW)


def test_error_reports_are_due_after_their_window() -> None:
    exactly = NOW - days(30)
    assert not POLICY.error_report_due(exactly, NOW)
    assert POLICY.error_report_due(exactly - TICK, NOW)
    assert not POLICY.error_report_due(NOW, NOW)


def test_predicates_refuse_naive_times() -> None:
    naive = datetime(2026, 1, 1)
    with pytest.raises(InvalidValue):
        POLICY.room_due(naive, False, NOW)
    with pytest.raises(InvalidValue):
        POLICY.error_report_due(NOW, naive)


# -- personal-data reporting cycle ------------------------------------------------------------


def test_the_first_reporting_cycle_is_due_at_once() -> None:
    assert POLICY.accounts_report_due(None, None, NOW)
    assert POLICY.next_accounts_report_at(None, 3) is None


def test_the_cycle_follows_the_policy_interval() -> None:
    last = NOW - days(7)
    assert POLICY.accounts_report_due(last, None, NOW)
    assert not POLICY.accounts_report_due(last + TICK, None, NOW)
    short = RetentionPolicy(account_report_interval_days=2)
    assert short.accounts_report_due(NOW - days(2), None, NOW)
    assert not short.accounts_report_due(NOW - days(1), None, NOW)


def test_cycle_period_overrides_the_policy_but_never_beyond_seven_days() -> None:
    short = RetentionPolicy(account_report_interval_days=2)
    # Atlassian asks for 5 days: reporting every 2 would be too often.
    assert not short.accounts_report_due(NOW - days(3), 5, NOW)
    assert short.accounts_report_due(NOW - days(5), 5, NOW)
    # Atlassian asks for 30 days: closed accounts still go at most 7 days apart.
    assert POLICY.account_report_interval(30) == days(ACCOUNT_REPORT_MAX_DAYS)
    assert POLICY.accounts_report_due(NOW - days(7), 30, NOW)
    assert POLICY.next_accounts_report_at(NOW, 1) == NOW + days(1)


@pytest.mark.parametrize("period", [0, -3, True, 2.5, "7"])
def test_a_malformed_cycle_period_is_refused(period: object) -> None:
    with pytest.raises(InvalidValue):
        POLICY.account_report_interval(period)  # type: ignore[arg-type]


# -- summaries and the plan -------------------------------------------------------------------


def test_summaries_check_their_values() -> None:
    with pytest.raises(InvalidValue):
        TenantSummary(A, TenantState.UNINSTALLED)
    with pytest.raises(InvalidValue):
        TenantSummary(A, TenantState.ENABLED, NOW)
    with pytest.raises(TypeError):
        TenantSummary("site-a", TenantState.ENABLED)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        RoomSummary(A, room(1), datetime(2026, 1, 1))
    with pytest.raises(InvalidValue):
        ErrorReportSummary("r1", datetime(2026, 1, 1))


def test_the_plan_lists_what_is_due_in_a_stable_order() -> None:
    old, fresh = NOW - days(200), NOW - days(1)
    plan = POLICY.plan_purge(
        NOW,
        tenants=[
            TenantSummary(B, TenantState.UNINSTALLED, old),
            TenantSummary(A, TenantState.ENABLED),
            TenantSummary(C, TenantState.UNINSTALLED, fresh),
        ],
        rooms=[
            RoomSummary(C, room(2), old),
            RoomSummary(A, room(1), old),
            RoomSummary(A, room(3), old, persistent=True),
            RoomSummary(A, room(4), fresh),
            RoomSummary(B, room(5), old),  # goes with its tenant
        ],
        error_reports=[
            ErrorReportSummary("r2", old),
            ErrorReportSummary("r1", old, A),
            ErrorReportSummary("r3", fresh),
            ErrorReportSummary("r4", old, B),  # goes with its tenant
        ],
    )
    assert plan == PurgePlan(
        tenants=(B,),
        rooms=((A, room(1)), (C, room(2))),
        error_reports=("r1", "r2"),
    )
    assert not plan.empty


def test_an_empty_plan() -> None:
    assert POLICY.plan_purge(NOW).empty
    assert PurgePlan().empty


# -- properties -------------------------------------------------------------------------------

MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
POLICIES = st.builds(
    RetentionPolicy,
    uninstalled_days=st.integers(1, MAX_DAYS),
    idle_room_days=st.integers(1, MAX_DAYS),
    error_report_days=st.integers(1, MAX_DAYS),
    account_report_interval_days=st.integers(1, ACCOUNT_REPORT_MAX_DAYS),
)


@given(POLICIES, MOMENTS, MOMENTS)
def test_cutoffs_are_monotonic_in_now(policy: RetentionPolicy, a: datetime, b: datetime) -> None:
    early, late = sorted((a, b))
    first, second = policy.cutoffs(early), policy.cutoffs(late)
    assert first.uninstalled_before <= second.uninstalled_before
    assert first.idle_room_before <= second.idle_room_before
    assert first.error_report_before <= second.error_report_before


@given(POLICIES, MOMENTS, MOMENTS, MOMENTS, st.booleans(), st.none() | st.integers(1, 60))
def test_once_due_always_due(
    policy: RetentionPolicy,
    at: datetime,
    a: datetime,
    b: datetime,
    persistent: bool,
    period: int | None,
) -> None:
    early, late = sorted((a, b))
    assert policy.tenant_due(TenantState.UNINSTALLED, at, early) <= policy.tenant_due(
        TenantState.UNINSTALLED, at, late
    )
    assert policy.room_due(at, persistent, early) <= policy.room_due(at, persistent, late)
    assert policy.error_report_due(at, early) <= policy.error_report_due(at, late)
    assert policy.accounts_report_due(at, period, early) <= policy.accounts_report_due(
        at, period, late
    )
