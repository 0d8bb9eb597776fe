"""Data residency: one region per deployment, and moving a tenant to another region.

A deployment serves the tenants of its own region only. A region migration follows the
hooks Atlassian calls while the site is offline (Connect `dare-migration`, Forge
`migration:dataResidency`): schedule, start (copy, non-destructive), status polled until
`ready-to-commit`, then commit (the tenant switches region; the source deletes its copy)
or rollback (the copy is discarded, the source keeps serving). Repeating a step that has
already happened is a no-op; a step out of order is refused with Atlassian's error code.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import datetime
from enum import Enum

from attrs import define, field, frozen
from attrs.validators import instance_of

from agiletoolbox.domain.errors import AccessRefused, DomainError, InvalidState
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.tenant import Region
from agiletoolbox.domain.timing import utc

_MIGRATION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


class MigrationErrorCode(Enum):
    """The `errorResponseCode` values Atlassian's migration service understands."""

    NOT_SCHEDULED = "E0001"
    REGION_UNSUPPORTED = "E0002"
    MIGRATIONS_UNSUPPORTED = "E0003"
    TOO_MANY_MIGRATIONS = "E0004"
    GENERIC = "E9999"

    @property
    def meaning(self) -> str:
        """What Atlassian documents the code to mean."""
        return _MEANINGS[self]


_MEANINGS = {
    MigrationErrorCode.NOT_SCHEDULED: "migration not scheduled",
    MigrationErrorCode.REGION_UNSUPPORTED: "target region not supported",
    MigrationErrorCode.MIGRATIONS_UNSUPPORTED: "migrations not supported",
    MigrationErrorCode.TOO_MANY_MIGRATIONS: "too many concurrent migrations",
    MigrationErrorCode.GENERIC: "generic error",
}


class MigrationState(Enum):
    """Where a migration is; the values are the `status` strings the status hook returns.

    Atlassian reads `ready-to-commit` and `failed`; any other string means "in progress".
    """

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in-progress"
    READY_TO_COMMIT = "ready-to-commit"
    FAILED = "failed"
    COMMITTED = "committed"
    ROLLED_BACK = "rolled-back"


_FINISHED = frozenset({MigrationState.COMMITTED, MigrationState.ROLLED_BACK})


class MigrationRefused(InvalidState):
    """A migration step was refused; `error_code` is the code to answer Atlassian with."""

    code = "migration_refused"

    def __init__(self, error_code: MigrationErrorCode, message: str | None = None) -> None:
        super().__init__(message or error_code.meaning)
        self.error_code = error_code


class TransferFailed(DomainError):
    """The other region's deployment could not be reached, or did not confirm the step."""

    code = "transfer_failed"


class WrongRegion(AccessRefused):
    """A request for a tenant of another region: refused, and nothing of it is stored."""

    def __init__(self, tenant_region: Region) -> None:
        super().__init__(f"this Jira site is served from the {tenant_region.value} region")
        self.tenant_region = tenant_region


def require_region(tenant_region: Region, deployment_region: Region) -> None:
    """Return quietly when the deployment may serve the tenant; `WrongRegion` otherwise."""
    if tenant_region is not deployment_region:
        raise WrongRegion(tenant_region)


def parse_location(text: str) -> Region:
    """The target region of a migration payload's `location`; E0002 for any other realm."""
    for region in Region:
        if isinstance(text, str) and text.strip().upper() == region.value:
            return region
    raise MigrationRefused(MigrationErrorCode.REGION_UNSUPPORTED)


def parse_migration_id(value: str | int) -> str:
    """Atlassian's `migrationId` (a number on the wire) as text; E9999 when malformed."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _MIGRATION_ID.fullmatch(value):
        raise MigrationRefused(MigrationErrorCode.GENERIC, "the migration id is not valid")
    return value


@frozen
class StatusAnswer:
    """The body of the status hook: `{"status": ..., "errorResponseCode": ...}`."""

    status: str
    error_response_code: str | None = None


@frozen
class MigrationEvent:
    """Something happened to a migration; `version` is the migration's version after it."""

    tenant: TenantKey
    migration_id: str
    version: int
    at: datetime


@frozen
class MigrationScheduled(MigrationEvent):
    """A migration was scheduled, or its window or target changed before it started."""

    source: Region
    target: Region
    start_time: datetime
    end_time: datetime


@frozen
class MigrationStarted(MigrationEvent):
    """Copying the tenant's data to the target region may begin."""


@frozen
class MigrationReady(MigrationEvent):
    """The copy is complete and checked; the migration may be committed."""


@frozen
class MigrationFailed(MigrationEvent):
    """The copy failed; Atlassian will roll back."""

    error_code: MigrationErrorCode


@frozen
class MigrationCommitted(MigrationEvent):
    """The tenant now lives in the target region; the source must delete its data."""

    target: Region


@frozen
class MigrationRolledBack(MigrationEvent):
    """The migration was abandoned; the target must discard its copy."""


def _check_window(start_time: datetime, end_time: datetime) -> None:
    if utc(end_time) <= utc(start_time):
        raise MigrationRefused(MigrationErrorCode.GENERIC, "the window ends before it starts")


def _check_target(source: Region, target: Region, reachable: Collection[Region]) -> None:
    if not reachable:
        raise MigrationRefused(MigrationErrorCode.MIGRATIONS_UNSUPPORTED)
    if target is source or target not in reachable:
        raise MigrationRefused(MigrationErrorCode.REGION_UNSUPPORTED)


@define
class Migration:
    """Moving one tenant from this deployment's region (`source`) to `target`."""

    id: str = field(converter=parse_migration_id)
    tenant: TenantKey = field(validator=instance_of(TenantKey))
    source: Region = field(validator=instance_of(Region))
    target: Region = field(validator=instance_of(Region))
    start_time: datetime = field(converter=utc)
    end_time: datetime = field(converter=utc)
    state: MigrationState = field(validator=instance_of(MigrationState))
    scheduled_at: datetime = field(converter=utc)
    updated_at: datetime = field(converter=utc)
    error_code: MigrationErrorCode | None = None
    version: int = 1
    pending_events: list[MigrationEvent] = field(factory=list, eq=False, repr=False)

    @classmethod
    def schedule(
        cls,
        *,
        migration_id: str | int,
        tenant: TenantKey,
        source: Region,
        target: Region,
        start_time: datetime,
        end_time: datetime,
        now: datetime,
        reachable: Collection[Region],
    ) -> Migration:
        """A scheduled migration (the schedule hook).

        `reachable` holds the regions this deployment can hand a tenant to; it is empty when
        migration is off (E0003). A target that is the source or not reachable is E0002;
        a window that ends before it starts is E9999.
        """
        now = utc(now)
        _check_target(source, target, reachable)
        _check_window(start_time, end_time)
        migration = cls(
            id=parse_migration_id(migration_id),
            tenant=tenant,
            source=source,
            target=target,
            start_time=start_time,
            end_time=end_time,
            state=MigrationState.SCHEDULED,
            scheduled_at=now,
            updated_at=now,
        )
        migration.pending_events.append(
            MigrationScheduled(
                tenant,
                migration.id,
                migration.version,
                now,
                source,
                target,
                migration.start_time,
                migration.end_time,
            )
        )
        return migration

    # -- reading -----------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether the migration still holds the tenant (neither committed nor rolled back)."""
        return self.state not in _FINISHED

    def overdue(self, now: datetime) -> bool:
        """Whether its window has passed with no decision (Atlassian rolls back then)."""
        return self.active and utc(now) > self.end_time

    def status_answer(self) -> StatusAnswer:
        """What the status hook answers."""
        code = self.error_code if self.state is MigrationState.FAILED else None
        return StatusAnswer(self.state.value, None if code is None else code.value)

    def require_id(self, migration_id: str | int) -> None:
        """Return quietly when a hook names this migration; E0001 otherwise."""
        if parse_migration_id(migration_id) != self.id:
            raise MigrationRefused(MigrationErrorCode.NOT_SCHEDULED)

    def drain_events(self) -> list[MigrationEvent]:
        """The events recorded since the last drain, oldest first; the list is emptied."""
        events, self.pending_events = self.pending_events, []
        return events

    # -- steps -------------------------------------------------------------------------

    def schedule_again(
        self,
        *,
        target: Region,
        start_time: datetime,
        end_time: datetime,
        now: datetime,
        reachable: Collection[Region],
    ) -> bool:
        """A repeated schedule hook for this migration; True when its plan changed.

        An identical repeat is a no-op at any point; a changed plan is accepted only before
        the migration starts (E9999 afterwards).
        """
        now = utc(now)
        if (target, utc(start_time), utc(end_time)) == (
            self.target,
            self.start_time,
            self.end_time,
        ):
            return False
        if self.state is not MigrationState.SCHEDULED:
            raise MigrationRefused(MigrationErrorCode.GENERIC, "the migration has started")
        _check_target(self.source, target, reachable)
        _check_window(start_time, end_time)
        self.target, self.start_time, self.end_time = target, start_time, end_time
        self._record(MigrationScheduled, now, self.source, target, start_time, end_time)
        return True

    def start(self, now: datetime) -> bool:
        """The start hook: copying may begin; a repeat (or a start once copied) is a no-op."""
        if self.state in (MigrationState.IN_PROGRESS, MigrationState.READY_TO_COMMIT):
            return False
        if self.state is MigrationState.ROLLED_BACK:
            raise MigrationRefused(
                MigrationErrorCode.NOT_SCHEDULED, "the migration was rolled back"
            )
        self._require(MigrationState.SCHEDULED)
        self.state = MigrationState.IN_PROGRESS
        self._record(MigrationStarted, utc(now))
        return True

    def mark_ready(self, now: datetime) -> bool:
        """The copy is complete: status answers `ready-to-commit` from now on."""
        if self.state is MigrationState.READY_TO_COMMIT:
            return False
        self._require(MigrationState.IN_PROGRESS)
        self.state = MigrationState.READY_TO_COMMIT
        self._record(MigrationReady, utc(now))
        return True

    def fail(self, error_code: MigrationErrorCode, now: datetime) -> bool:
        """The copy failed: status answers `failed` with `error_code` (the first one stays)."""
        if not isinstance(error_code, MigrationErrorCode):
            raise MigrationRefused(MigrationErrorCode.GENERIC, "unknown error code")
        if self.state is MigrationState.FAILED:
            return False
        self._require(
            MigrationState.SCHEDULED, MigrationState.IN_PROGRESS, MigrationState.READY_TO_COMMIT
        )
        self.state, self.error_code = MigrationState.FAILED, error_code
        self._record(MigrationFailed, utc(now), error_code)
        return True

    def commit(self, now: datetime) -> bool:
        """The commit hook: the tenant moves to the target; only once `ready-to-commit`."""
        if self.state is MigrationState.COMMITTED:
            return False
        self._require(MigrationState.READY_TO_COMMIT)
        self.state = MigrationState.COMMITTED
        self._record(MigrationCommitted, utc(now), self.target)
        return True

    def rollback(self, now: datetime) -> bool:
        """The rollback hook: abandon the migration; refused once committed."""
        if self.state is MigrationState.ROLLED_BACK:
            return False
        if self.state is MigrationState.COMMITTED:
            raise MigrationRefused(MigrationErrorCode.GENERIC, "the migration was committed")
        self.state = MigrationState.ROLLED_BACK
        self._record(MigrationRolledBack, utc(now))
        return True

    # -- internals ---------------------------------------------------------------------

    def _require(self, *states: MigrationState) -> None:
        if self.state not in states:
            raise MigrationRefused(
                MigrationErrorCode.GENERIC, f"the migration is {self.state.value}"
            )

    def _record(self, kind: type[MigrationEvent], now: datetime, *details: object) -> None:
        self.version += 1
        self.updated_at = max(self.updated_at, now)
        self.pending_events.append(kind(self.tenant, self.id, self.version, now, *details))


def require_capacity(
    active: Iterable[Migration], *, tenant: TenantKey, migration_id: str | int, limit: int = 1
) -> None:
    """Refuse (E0004) a new migration while the tenant has another, or `limit` are running.

    `active` are the migrations this deployment holds; finished ones are ignored, and so is
    the migration being scheduled again under its own id.
    """
    own = parse_migration_id(migration_id)
    others = [m for m in active if m.active and (m.tenant, m.id) != (tenant, own)]
    if any(m.tenant == tenant for m in others) or len(others) >= limit:
        raise MigrationRefused(MigrationErrorCode.TOO_MANY_MIGRATIONS)


@frozen
class Arrival:
    """A tenant's copy that arrived from `source` through migration `migration_id`.

    It is not served until the migration commits; `digest` is what the source sent.
    """

    tenant: TenantKey = field(validator=instance_of(TenantKey))
    migration_id: str = field(converter=parse_migration_id)
    source: Region = field(validator=instance_of(Region))
    digest: str = field(validator=instance_of(str))
    staged_at: datetime = field(converter=utc)
