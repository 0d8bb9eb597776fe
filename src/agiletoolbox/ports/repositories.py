"""Repositories and the unit of work.

A unit of work is one transaction: whatever the repositories change inside it persists
only on `commit()`; leaving the block without committing rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.events import RoomEvent
from agiletoolbox.domain.ids import AccountId, IssueKey, ProjectKey, RoomId, SessionId, TenantKey
from agiletoolbox.domain.reporting import ReportCycle
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import RefinementSession
from agiletoolbox.domain.standing import TenantStanding
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports.forge import SystemTokenRepository
from agiletoolbox.ports.residency import ArrivalRepository, MigrationRepository


class RoomRepository(Protocol):
    """Rooms, each read and written whole, guarded by its version."""

    async def get(self, tenant: TenantKey, room_id: RoomId) -> Room:
        """The room; `NotFound` when the tenant has no such room."""
        ...

    async def get_served(self, tenant: TenantKey, room_id: RoomId) -> tuple[Room, TenantStanding]:
        """The room and its tenant's standing, read at the same moment (what every change to
        a room checks first); `NotFound` when the tenant has no such room."""
        ...

    async def get_served_many(
        self, keys: Sequence[tuple[TenantKey, RoomId]]
    ) -> dict[tuple[TenantKey, RoomId], tuple[Room, TenantStanding]]:
        """Several rooms, each with its tenant's standing, read at one moment (one query
        where the store can); a key with no such room is left out."""
        ...

    async def adopt(self, room: Room) -> None:
        """Take `room`, as this process last saw it committed, as if this unit of work had
        read it: nothing is read, and saving it writes what changed since its version,
        guarded by that version. Since no standing was read either, the save is also
        refused unless the site may be served when it is written. Both refusals surface at
        commit as `ConcurrentChange`, and the use case then reads the room afresh."""
        ...

    async def find_by_issue(self, tenant: TenantKey, issue_key: IssueKey) -> Room | None:
        """The room of an issue, if one was opened."""
        ...

    async def add(self, room: Room) -> None:
        """Store a new room; `InvalidState` when the issue already has one."""
        ...

    async def count(self, tenant: TenantKey) -> int:
        """How many rooms the tenant keeps (stored ones; staged ones are not counted)."""
        ...

    async def save(self, room: Room) -> None:
        """Store a changed room; `ConcurrentChange` when someone saved it first."""
        ...

    async def delete(self, tenant: TenantKey, room_id: RoomId) -> None:
        """Delete the room and everything in it. A room this unit of work read, or listed
        with `idle_before`, is deleted only as it was then: a change committed since makes
        the commit raise `ConcurrentChange`."""
        ...

    async def with_account(self, account: AccountId) -> Sequence[tuple[TenantKey, RoomId]]:
        """Every room that mentions the account, in any tenant of this deployment."""
        ...

    async def idle_before(self, cutoff: datetime) -> Sequence[tuple[TenantKey, RoomId]]:
        """Rooms that are not persistent and have not changed since `cutoff`."""
        ...

    async def accounts(
        self, tenant: TenantKey, *, after: AccountId | None = None, limit: int | None = None
    ) -> Sequence[tuple[AccountId, datetime]]:
        """Every account id the tenant's rooms, saved defaults and sessions hold, each with
        the last time it was stored (what Atlassian's personal-data reporting covers), in
        order of account id: those after `after`, at most `limit` of them."""
        ...

    def collect_events(self) -> list[RoomEvent]:
        """Drain the events of the rooms saved through this repository."""
        ...


class TenantRepository(Protocol):
    """Tenants (installations) of this deployment."""

    async def get(self, key: TenantKey) -> Tenant | None:
        """The tenant, or None."""
        ...

    async def standing(self, key: TenantKey) -> TenantStanding | None:
        """Whether the tenant may be served (read without its secrets), or None."""
        ...

    async def find_by_installation(self, installation_id: str) -> Tenant | None:
        """The tenant linked to a Forge installation id, or None."""
        ...

    async def find_by_cloud_id(self, cloud_id: str) -> Tenant | None:
        """The tenant of a site's cloud id (stable across Forge re-installs), or None."""
        ...

    async def save(self, tenant: Tenant) -> None:
        """Insert or update the tenant (its secret is encrypted by the adapter)."""
        ...

    async def delete(self, key: TenantKey) -> None:
        """Delete the tenant and every row it owns."""
        ...

    async def uninstalled_before(self, cutoff: datetime) -> Sequence[TenantKey]:
        """Tenants uninstalled before `cutoff`."""
        ...

    async def all_keys(self) -> Sequence[TenantKey]:
        """Every tenant key."""
        ...


class DefaultsRepository(Protocol):
    """People's saved room defaults."""

    async def get(self, key: DefaultsKey) -> SavedDefaults | None:
        """The saved defaults, or None."""
        ...

    async def count(self, tenant: TenantKey) -> int:
        """How many saved defaults the tenant keeps."""
        ...

    async def save(self, defaults: SavedDefaults) -> None:
        """Insert or replace."""
        ...

    async def for_account(self, account: AccountId) -> Sequence[SavedDefaults]:
        """Every default the account saved, in any tenant of this deployment."""
        ...

    async def erase_account(self, account: AccountId) -> int:
        """Delete every default the account saved; returns how many."""
        ...


class ErrorReportRepository(Protocol):
    """Scrubbed error reports."""

    async def add(self, report: ErrorReport, *, counted_since: datetime) -> ErrorReport:
        """Store a report, or count it on an equal one (same `fingerprint`) stored at or
        after `counted_since`; returns the report as stored."""
        ...

    async def recent(self, limit: int) -> Sequence[ErrorReport]:
        """The newest reports first."""
        ...

    async def delete_before(self, cutoff: datetime) -> int:
        """Delete reports older than `cutoff`; returns how many."""
        ...


class ReportCycleRepository(Protocol):
    """Each tenant's place in the personal-data reporting cycle."""

    async def get(self, tenant: TenantKey) -> ReportCycle | None:
        """The tenant's reporting state, or None before its first report."""
        ...

    async def save(self, cycle: ReportCycle) -> None:
        """Insert or replace."""
        ...


class SessionRepository(Protocol):
    """Refinement sessions; saves are checked against the version read."""

    async def get(self, tenant: TenantKey, session_id: SessionId) -> RefinementSession:
        """The session; `NotFound` when the tenant has none by that id."""
        ...

    async def add(self, session: RefinementSession) -> None:
        """Store a new session."""
        ...

    async def save(self, session: RefinementSession) -> None:
        """Store a changed session read in this unit of work; `ConcurrentChange` when it
        changed meanwhile."""
        ...

    async def delete(self, tenant: TenantKey, session_id: SessionId) -> None:
        """Delete the session and its queue."""
        ...

    async def for_project(
        self, tenant: TenantKey, project: ProjectKey
    ) -> Sequence[RefinementSession]:
        """The project's sessions, newest first."""
        ...

    async def count_for_project(self, tenant: TenantKey, project: ProjectKey) -> int:
        """How many sessions the project keeps."""
        ...

    async def following(self, tenant: TenantKey, room_id: RoomId) -> Sequence[SessionId]:
        """The sessions whose queue holds the room (those that follow its progress)."""
        ...

    async def with_account(self, account: AccountId) -> Sequence[tuple[TenantKey, SessionId]]:
        """Every session that keeps the account id (as its owner)."""
        ...

    async def idle_before(self, cutoff: datetime) -> Sequence[tuple[TenantKey, SessionId]]:
        """Sessions not persistent whose last change was before `cutoff`."""
        ...

    async def due_for_review(self, now: datetime) -> Sequence[tuple[TenantKey, SessionId]]:
        """Async sessions still estimated whose deadline is at or before `now`."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository (each read-only: a unit of work may make
    one only when it is first used)."""

    @property
    def rooms(self) -> RoomRepository: ...
    @property
    def tenants(self) -> TenantRepository: ...
    @property
    def defaults(self) -> DefaultsRepository: ...
    @property
    def error_reports(self) -> ErrorReportRepository: ...
    @property
    def report_cycles(self) -> ReportCycleRepository: ...
    @property
    def system_tokens(self) -> SystemTokenRepository: ...
    @property
    def migrations(self) -> MigrationRepository: ...
    @property
    def arrivals(self) -> ArrivalRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make every change of this unit of work durable."""
        ...

    async def rollback(self) -> None:
        """Discard every change of this unit of work."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
