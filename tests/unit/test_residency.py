"""Residency: the region check and the migration state machine behind Atlassian's hooks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.domain.errors import AccessRefused, InvalidState, InvalidValue
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.residency import (
    Migration,
    MigrationCommitted,
    MigrationErrorCode,
    MigrationFailed,
    MigrationReady,
    MigrationRefused,
    MigrationRolledBack,
    MigrationScheduled,
    MigrationStarted,
    MigrationState,
    StatusAnswer,
    WrongRegion,
    parse_location,
    parse_migration_id,
    require_capacity,
    require_region,
)
from agiletoolbox.domain.tenant import Region

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
START, END = T0 + timedelta(days=3), T0 + timedelta(days=3, hours=2)
KEY = TenantKey("site-eu-1")
BOTH = (Region.US, Region.EU)


def scheduled(**overrides: object) -> Migration:
    """A migration of KEY from the EU to the US, scheduled at T0, events drained."""
    arguments: dict[str, object] = {
        "migration_id": 57500,
        "tenant": KEY,
        "source": Region.EU,
        "target": Region.US,
        "start_time": START,
        "end_time": END,
        "now": T0,
        "reachable": BOTH,
    }
    arguments.update(overrides)
    migration = Migration.schedule(**arguments)  # type: ignore[arg-type]
    migration.drain_events()
    return migration


def refused(code: MigrationErrorCode, step: Callable[[], object]) -> MigrationRefused:
    """Run `step`, expecting a refusal with Atlassian's `code`."""
    with pytest.raises(MigrationRefused) as caught:
        step()
    assert caught.value.error_code is code
    return caught.value


# -- region check ----------------------------------------------------------------------------


def test_a_deployment_serves_its_own_region() -> None:
    require_region(Region.EU, Region.EU)
    require_region(Region.US, Region.US)


def test_a_tenant_of_another_region_is_refused() -> None:
    with pytest.raises(AccessRefused) as caught:
        require_region(Region.EU, Region.US)
    assert isinstance(caught.value, WrongRegion)
    assert caught.value.tenant_region is Region.EU
    assert "EU" in caught.value.message


# -- codes and statuses ------------------------------------------------------------------------


def test_error_codes_are_atlassians() -> None:
    assert {code.value: code.meaning for code in MigrationErrorCode} == {
        "E0001": "migration not scheduled",
        "E0002": "target region not supported",
        "E0003": "migrations not supported",
        "E0004": "too many concurrent migrations",
        "E9999": "generic error",
    }


def test_statuses_are_the_strings_the_status_hook_answers() -> None:
    assert MigrationState.READY_TO_COMMIT.value == "ready-to-commit"
    assert MigrationState.FAILED.value == "failed"
    # Anything else reads as "in progress" to Atlassian; none may look like the two above.
    others = {s.value for s in MigrationState} - {"ready-to-commit", "failed"}
    assert others == {"scheduled", "in-progress", "committed", "rolled-back"}


def test_a_refusal_is_an_invalid_state_carrying_the_code() -> None:
    error = MigrationRefused(MigrationErrorCode.TOO_MANY_MIGRATIONS)
    assert isinstance(error, InvalidState)
    assert error.message == "too many concurrent migrations"
    assert MigrationRefused(MigrationErrorCode.GENERIC, "why").message == "why"


def test_location_and_id_parsing() -> None:
    assert parse_location("eu") is Region.EU
    assert parse_location(" US ") is Region.US
    assert parse_migration_id(57500) == "57500"
    assert parse_migration_id("mig-1") == "mig-1"


@pytest.mark.parametrize("realm", ["AU", "DE", "", None])
def test_a_location_outside_us_and_eu_is_unsupported(realm: object) -> None:
    refused(MigrationErrorCode.REGION_UNSUPPORTED, lambda: parse_location(realm))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [True, "", "has space", "x" * 129, 1.5])
def test_a_malformed_migration_id_is_refused(bad: object) -> None:
    refused(MigrationErrorCode.GENERIC, lambda: parse_migration_id(bad))  # type: ignore[arg-type]


# -- schedule ----------------------------------------------------------------------------------


def test_schedule_prepares_a_migration() -> None:
    migration = Migration.schedule(
        migration_id=57500,
        tenant=KEY,
        source=Region.EU,
        target=Region.US,
        start_time=START,
        end_time=END,
        now=T0,
        reachable=BOTH,
    )
    assert migration.state is MigrationState.SCHEDULED
    assert migration.id == "57500"
    assert migration.active
    assert migration.version == 1
    assert migration.status_answer() == StatusAnswer("scheduled", None)
    assert migration.drain_events() == [
        MigrationScheduled(KEY, "57500", 1, T0, Region.EU, Region.US, START, END)
    ]


def test_schedule_refuses_when_migration_is_off() -> None:
    refused(MigrationErrorCode.MIGRATIONS_UNSUPPORTED, lambda: scheduled(reachable=()))


@pytest.mark.parametrize(("target", "reachable"), [(Region.EU, BOTH), (Region.US, (Region.EU,))])
def test_schedule_refuses_an_unsupported_target(
    target: Region, reachable: tuple[Region, ...]
) -> None:
    refused(
        MigrationErrorCode.REGION_UNSUPPORTED,
        lambda: scheduled(target=target, reachable=reachable),
    )


def test_schedule_refuses_a_window_that_ends_before_it_starts() -> None:
    refused(MigrationErrorCode.GENERIC, lambda: scheduled(end_time=START))


def test_schedule_refuses_naive_times() -> None:
    with pytest.raises(InvalidValue):
        scheduled(start_time=datetime(2026, 5, 4))
    with pytest.raises(InvalidValue):
        scheduled(now=datetime(2026, 5, 4))


def test_a_repeated_schedule_is_a_no_op_and_may_move_the_window_before_start() -> None:
    migration = scheduled()
    assert not migration.schedule_again(
        target=Region.US, start_time=START, end_time=END, now=T0, reachable=BOTH
    )
    later = END + timedelta(days=1)
    assert migration.schedule_again(
        target=Region.US, start_time=START, end_time=later, now=T0, reachable=BOTH
    )
    assert (migration.end_time, migration.version) == (later, 2)
    assert [type(e) for e in migration.drain_events()] == [MigrationScheduled]
    refused(
        MigrationErrorCode.GENERIC,
        lambda: migration.schedule_again(
            target=Region.US, start_time=later, end_time=START, now=T0, reachable=BOTH
        ),
    )
    refused(
        MigrationErrorCode.REGION_UNSUPPORTED,
        lambda: migration.schedule_again(
            target=Region.EU, start_time=START, end_time=END, now=T0, reachable=BOTH
        ),
    )


def test_a_started_migration_keeps_its_plan() -> None:
    migration = scheduled()
    migration.start(T0)
    assert not migration.schedule_again(
        target=Region.US, start_time=START, end_time=END, now=T0, reachable=BOTH
    )
    refused(
        MigrationErrorCode.GENERIC,
        lambda: migration.schedule_again(
            target=Region.US,
            start_time=START,
            end_time=END + timedelta(hours=1),
            now=T0,
            reachable=BOTH,
        ),
    )


# -- the happy path and its repeats --------------------------------------------------------------


def test_schedule_start_ready_commit() -> None:
    migration = scheduled()
    t1, t2, t3 = (START + timedelta(minutes=n) for n in (1, 30, 35))
    assert migration.start(t1) is True
    assert migration.status_answer() == StatusAnswer("in-progress")
    assert migration.mark_ready(t2) is True
    assert migration.status_answer() == StatusAnswer("ready-to-commit")
    assert migration.commit(t3) is True
    assert migration.state is MigrationState.COMMITTED
    assert not migration.active
    assert migration.updated_at == t3
    assert migration.drain_events() == [
        MigrationStarted(KEY, "57500", 2, t1),
        MigrationReady(KEY, "57500", 3, t2),
        MigrationCommitted(KEY, "57500", 4, t3, Region.US),
    ]


def test_repeating_a_step_is_a_no_op() -> None:
    migration = scheduled()
    assert migration.start(T0)
    assert not migration.start(T0)
    assert migration.mark_ready(T0)
    assert not migration.mark_ready(T0)
    assert not migration.start(T0)  # a retried start after the copy finished
    assert migration.commit(T0)
    assert not migration.commit(T0)
    assert migration.version == 4


@pytest.mark.parametrize("steps", [(), ("start",), ("start", "mark_ready"), ("fail",)])
def test_rollback_abandons_an_unfinished_migration(steps: tuple[str, ...]) -> None:
    migration = scheduled()
    for step in steps:
        if step == "fail":
            migration.fail(MigrationErrorCode.GENERIC, T0)
        else:
            getattr(migration, step)(T0)
    migration.drain_events()
    assert migration.rollback(T0) is True
    assert migration.rollback(T0) is False
    assert migration.state is MigrationState.ROLLED_BACK
    assert not migration.active
    assert [type(e) for e in migration.drain_events()] == [MigrationRolledBack]


def test_a_failure_answers_failed_with_the_first_code() -> None:
    migration = scheduled()
    migration.start(T0)
    assert migration.fail(MigrationErrorCode.TOO_MANY_MIGRATIONS, T0) is True
    assert migration.fail(MigrationErrorCode.GENERIC, T0) is False
    assert migration.status_answer() == StatusAnswer("failed", "E0004")
    assert migration.drain_events() == [
        MigrationStarted(KEY, "57500", 2, T0),
        MigrationFailed(KEY, "57500", 3, T0, MigrationErrorCode.TOO_MANY_MIGRATIONS),
    ]


# -- steps out of order --------------------------------------------------------------------------


def test_steps_out_of_order_are_refused_with_atlassians_code() -> None:
    migration = scheduled()
    refused(MigrationErrorCode.GENERIC, lambda: migration.mark_ready(T0))
    refused(MigrationErrorCode.GENERIC, lambda: migration.commit(T0))
    migration.start(T0)
    refused(MigrationErrorCode.GENERIC, lambda: migration.commit(T0))
    migration.fail(MigrationErrorCode.GENERIC, T0)
    refused(MigrationErrorCode.GENERIC, lambda: migration.start(T0))
    refused(MigrationErrorCode.GENERIC, lambda: migration.mark_ready(T0))
    refused(MigrationErrorCode.GENERIC, lambda: migration.commit(T0))


def test_a_committed_migration_cannot_roll_back_or_fail() -> None:
    migration = scheduled()
    migration.start(T0)
    migration.mark_ready(T0)
    migration.commit(T0)
    refused(MigrationErrorCode.GENERIC, lambda: migration.rollback(T0))
    refused(MigrationErrorCode.GENERIC, lambda: migration.fail(MigrationErrorCode.GENERIC, T0))
    refused(MigrationErrorCode.GENERIC, lambda: migration.start(T0))


def test_starting_a_rolled_back_migration_is_not_scheduled() -> None:
    migration = scheduled()
    migration.rollback(T0)
    refused(MigrationErrorCode.NOT_SCHEDULED, lambda: migration.start(T0))


def test_fail_needs_a_known_code() -> None:
    migration = scheduled()
    refused(MigrationErrorCode.GENERIC, lambda: migration.fail("E0004", T0))  # type: ignore[arg-type]


def test_a_hook_for_another_migration_is_not_scheduled() -> None:
    migration = scheduled()
    migration.require_id(57500)
    migration.require_id("57500")
    refused(MigrationErrorCode.NOT_SCHEDULED, lambda: migration.require_id(57501))


def test_overdue_once_the_window_passed_undecided() -> None:
    migration = scheduled()
    assert not migration.overdue(END)
    assert migration.overdue(END + timedelta(seconds=1))
    migration.rollback(END)
    assert not migration.overdue(END + timedelta(days=1))


# -- capacity ------------------------------------------------------------------------------------


def test_one_migration_per_tenant_and_a_limit_overall() -> None:
    mine = scheduled()
    other_tenant = scheduled(tenant=TenantKey("site-eu-2"), migration_id=2)
    require_capacity([mine], tenant=KEY, migration_id=57500)  # the same one, scheduled again
    refused(
        MigrationErrorCode.TOO_MANY_MIGRATIONS,
        lambda: require_capacity([mine], tenant=KEY, migration_id=1, limit=10),
    )
    refused(
        MigrationErrorCode.TOO_MANY_MIGRATIONS,
        lambda: require_capacity([other_tenant], tenant=KEY, migration_id=57500),
    )
    require_capacity([other_tenant], tenant=KEY, migration_id=57500, limit=2)
    other_tenant.rollback(T0)
    require_capacity([other_tenant, mine], tenant=KEY, migration_id=57500)


# -- property: the machine never leaves a finished state, and repeats are no-ops ----------------

STEPS = st.sampled_from(["start", "mark_ready", "commit", "rollback", "fail"])


def apply(migration: Migration, step: str) -> bool | MigrationErrorCode:
    """Run one named step: whether it changed anything, or the code it was refused with."""
    try:
        if step == "fail":
            return migration.fail(MigrationErrorCode.GENERIC, T0)
        result: bool = getattr(migration, step)(T0)
    except MigrationRefused as refusal:
        return refusal.error_code
    return result


@given(st.lists(STEPS, max_size=20))
def test_random_steps_keep_the_machine_sound(steps: list[str]) -> None:
    migration = scheduled()
    for step in steps:
        before = (migration.state, migration.version)
        outcome = apply(migration, step)
        if isinstance(outcome, MigrationErrorCode):
            assert outcome in (MigrationErrorCode.GENERIC, MigrationErrorCode.NOT_SCHEDULED)
            assert (migration.state, migration.version) == before
            continue
        if before[0] in (MigrationState.COMMITTED, MigrationState.ROLLED_BACK):
            assert migration.state is before[0]
        assert migration.version == before[1] + outcome
        assert apply(migration, step) is False  # the same step again is a no-op
        answer = migration.status_answer()
        assert answer.status == migration.state.value
        assert (answer.error_response_code is not None) == (
            migration.state is MigrationState.FAILED
        )
