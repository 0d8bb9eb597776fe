"""In-memory repositories of the smaller records: saved defaults, error reports, the
personal-data reporting state and region migrations; each stages its changes until the
unit of work commits."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from attrs import evolve

from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.errors import ConcurrentChange
from agiletoolbox.domain.ids import AccountId, TenantKey
from agiletoolbox.domain.reporting import ReportCycle
from agiletoolbox.domain.residency import Arrival, Migration

if TYPE_CHECKING:
    from agiletoolbox.adapters.memory.store import MemoryStore


class MemoryDefaultsRepository:
    """Saved defaults, with changes applied at commit."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._ops: list[Callable[[MemoryStore], None]] = []

    async def get(self, key: DefaultsKey) -> SavedDefaults | None:
        """The saved defaults, or None."""
        return self._store.defaults.get(key)

    async def count(self, tenant: TenantKey) -> int:
        """How many saved defaults the tenant keeps."""
        return sum(1 for key in self._store.defaults if key.tenant == tenant)

    async def save(self, defaults: SavedDefaults) -> None:
        """Stage an insert or replace."""
        self._ops.append(lambda store: store.defaults.__setitem__(defaults.key, defaults))

    async def for_account(self, account: AccountId) -> Sequence[SavedDefaults]:
        """Every default the account saved."""
        return sorted(
            (d for d in self._store.defaults.values() if d.key.account_id == account),
            key=lambda d: (d.key.tenant, d.key.project, d.key.issue_type),
        )

    async def erase_account(self, account: AccountId) -> int:
        """Stage the deletion of the account's defaults; returns how many there are."""
        keys = [k for k in self._store.defaults if k.account_id == account]

        def erase(store: MemoryStore) -> None:
            for key in keys:
                store.defaults.pop(key, None)

        self._ops.append(erase)
        return len(keys)

    def apply(self) -> None:
        """Run the staged changes."""
        for op in self._ops:
            op(self._store)


class MemoryErrorReportRepository:
    """Error reports, with changes applied at commit."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._ops: list[Callable[[MemoryStore], None]] = []

    async def add(self, report: ErrorReport, *, counted_since: datetime) -> ErrorReport:
        """Stage a report, or the count of an equal recent one."""
        fingerprint = report.fingerprint
        for n, stored in enumerate(self._store.error_reports):
            if stored.fingerprint == fingerprint and stored.at >= counted_since:
                counted = evolve(stored, count=stored.count + 1, last_at=report.at)

                def count(store: MemoryStore, n: int = n, counted: ErrorReport = counted) -> None:
                    store.error_reports[n] = counted

                self._ops.append(count)
                return counted
        self._ops.append(lambda store: store.error_reports.append(report))
        return report

    async def recent(self, limit: int) -> Sequence[ErrorReport]:
        """The newest reports first."""
        return sorted(self._store.error_reports, key=lambda r: r.at, reverse=True)[:limit]

    async def delete_before(self, cutoff: datetime) -> int:
        """Stage the deletion of reports older than `cutoff`; returns how many."""
        due = sum(1 for r in self._store.error_reports if r.at < cutoff)

        def delete(store: MemoryStore) -> None:
            store.error_reports = [r for r in store.error_reports if r.at >= cutoff]

        self._ops.append(delete)
        return due

    def apply(self) -> None:
        """Run the staged changes."""
        for op in self._ops:
            op(self._store)


class MemoryReportCycleRepository:
    """Reporting states, staged until commit."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._staged: dict[TenantKey, ReportCycle] = {}

    async def get(self, tenant: TenantKey) -> ReportCycle | None:
        """The tenant's reporting state, or None."""
        return self._staged.get(tenant) or self._store.report_cycles.get(tenant)

    async def save(self, cycle: ReportCycle) -> None:
        """Stage an insert or replace."""
        self._staged[cycle.tenant] = cycle

    def apply(self) -> None:
        """Write the staged states."""
        self._store.report_cycles.update(self._staged)


class MemoryMigrationRepository:
    """Region migrations driven from here, staged until commit and version-checked."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._staged: dict[TenantKey, Migration] = {}
        self._loaded: dict[TenantKey, int] = {}

    async def get(self, tenant: TenantKey) -> Migration | None:
        """The tenant's latest migration, or None."""
        migration = self._staged.get(tenant) or self._store.migrations.get(tenant)
        if migration is None:
            return None
        if tenant not in self._staged:
            self._loaded.setdefault(tenant, migration.version)
        return copy.deepcopy(migration)

    async def save(self, migration: Migration) -> None:
        """Stage an insert or replace."""
        self._staged[migration.tenant] = copy.deepcopy(migration)

    async def active(self) -> Sequence[Migration]:
        """Every migration neither committed nor rolled back."""
        current = {**self._store.migrations, **self._staged}
        return [copy.deepcopy(m) for m in current.values() if m.active]

    def check(self) -> None:
        """Refuse the commit when a saved migration changed since it was read here."""
        for key in self._staged:
            current = self._store.migrations.get(key)
            if (current.version if current else None) != self._loaded.get(key):
                raise ConcurrentChange("the migration changed meanwhile")

    def apply(self) -> None:
        """Write the staged migrations (of tenants that still exist)."""
        for key, migration in self._staged.items():
            if key in self._store.tenants:
                self._store.migrations[key] = migration


class MemoryArrivalRepository:
    """Copies arrived from another region; deletions applied at commit."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._deleted: set[TenantKey] = set()

    async def get(self, tenant: TenantKey) -> Arrival | None:
        """The arrived copy of the tenant, or None."""
        return None if tenant in self._deleted else self._store.arrivals.get(tenant)

    async def delete(self, tenant: TenantKey) -> None:
        """Stage forgetting the arrival."""
        self._deleted.add(tenant)

    async def staged_before(self, cutoff: datetime) -> Sequence[TenantKey]:
        """Tenants whose copy arrived before `cutoff` and was never committed."""
        return sorted(
            key
            for key, arrival in self._store.arrivals.items()
            if key not in self._deleted and arrival.staged_at < cutoff
        )

    def apply(self) -> None:
        """Forget the arrivals deleted in this unit of work."""
        for key in self._deleted:
            self._store.arrivals.pop(key, None)
