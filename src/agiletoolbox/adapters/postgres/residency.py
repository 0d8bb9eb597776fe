"""Region migrations and arrived copies in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from agiletoolbox.adapters.postgres.session import Session
from agiletoolbox.domain.errors import ConcurrentChange
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.residency import (
    Arrival,
    Migration,
    MigrationErrorCode,
    MigrationState,
)
from agiletoolbox.domain.tenant import Region

_COLUMNS = (
    "tenant_key, migration_id, source, target, start_time, end_time, state, error_code, "
    "scheduled_at, updated_at, version"
)
# Inserted only while the tenant exists; replaced only from the version read here.
_SAVE = f"""
INSERT INTO region_migrations ({_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (tenant_key) DO UPDATE SET
    migration_id = excluded.migration_id, source = excluded.source,
    target = excluded.target, start_time = excluded.start_time,
    end_time = excluded.end_time, state = excluded.state, error_code = excluded.error_code,
    scheduled_at = excluded.scheduled_at, updated_at = excluded.updated_at,
    version = excluded.version
WHERE region_migrations.version IS NOT DISTINCT FROM $12
RETURNING 1
"""  # noqa: S608 - built from constants only; values are $n parameters


def _migration(row: asyncpg.Record) -> Migration:
    code = row["error_code"]
    return Migration(
        id=row["migration_id"],
        tenant=TenantKey(row["tenant_key"]),
        source=Region(row["source"]),
        target=Region(row["target"]),
        start_time=row["start_time"],
        end_time=row["end_time"],
        state=MigrationState(row["state"]),
        scheduled_at=row["scheduled_at"],
        updated_at=row["updated_at"],
        error_code=None if code is None else MigrationErrorCode(code),
        version=row["version"],
    )


class PostgresMigrationRepository:
    """The migrations this deployment drives, one row per tenant."""

    def __init__(self, connection: Session) -> None:
        self._connection = connection
        self._loaded: dict[TenantKey, int] = {}

    async def get(self, tenant: TenantKey) -> Migration | None:
        """The tenant's latest migration, or None."""
        row = await self._connection.fetchrow(
            f"SELECT {_COLUMNS} FROM region_migrations WHERE tenant_key = $1",  # noqa: S608
            tenant.value,
        )
        if row is None:
            return None
        migration = _migration(row)
        self._loaded.setdefault(tenant, migration.version)
        return migration

    async def save(self, migration: Migration) -> None:
        """Insert or replace; `ConcurrentChange` when it changed since it was read here."""
        written = await self._connection.write(
            _SAVE,
            migration.tenant.value,
            migration.id,
            migration.source.value,
            migration.target.value,
            migration.start_time,
            migration.end_time,
            migration.state.value,
            None if migration.error_code is None else migration.error_code.value,
            migration.scheduled_at,
            migration.updated_at,
            migration.version,
            self._loaded.get(migration.tenant),
        )
        if not written:
            raise ConcurrentChange("the migration changed meanwhile")
        self._loaded[migration.tenant] = migration.version

    async def active(self) -> Sequence[Migration]:
        """Every migration neither committed nor rolled back."""
        rows = await self._connection.fetch(
            f"SELECT {_COLUMNS} FROM region_migrations "  # noqa: S608 - fixed names
            "WHERE state NOT IN ('committed', 'rolled-back')"
        )
        return [_migration(row) for row in rows]


class PostgresArrivalRepository:
    """Copies arrived from another region (written by the archive, read and settled here)."""

    def __init__(self, connection: Session) -> None:
        self._connection = connection

    async def get(self, tenant: TenantKey) -> Arrival | None:
        """The arrived copy of the tenant, or None."""
        row = await self._connection.fetchrow(
            "SELECT tenant_key, migration_id, source, digest, staged_at "
            "FROM region_arrivals WHERE tenant_key = $1",
            tenant.value,
        )
        if row is None:
            return None
        return Arrival(
            tenant=TenantKey(row["tenant_key"]),
            migration_id=row["migration_id"],
            source=Region(row["source"]),
            digest=row["digest"],
            staged_at=row["staged_at"],
        )

    async def delete(self, tenant: TenantKey) -> None:
        """Forget the arrival; the copy has become the tenant."""
        await self._connection.write(
            "DELETE FROM region_arrivals WHERE tenant_key = $1", tenant.value
        )

    async def staged_before(self, cutoff: datetime) -> Sequence[TenantKey]:
        """Tenants whose copy arrived before `cutoff` and was never committed."""
        rows = await self._connection.fetch(
            "SELECT tenant_key FROM region_arrivals WHERE staged_at < $1", cutoff
        )
        return sorted(TenantKey(row["tenant_key"]) for row in rows)
