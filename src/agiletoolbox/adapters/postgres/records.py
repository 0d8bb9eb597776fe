"""Tenants, saved defaults and error reports in PostgreSQL.

These are written straight into the unit of work's transaction (a rollback discards them);
only rooms need staging, for their version check at commit. A tenant's shared secret is
stored encrypted only, bound to the tenant's key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
from attrs import frozen

from agiletoolbox.adapters.postgres.encryption import KeyRing
from agiletoolbox.adapters.postgres.rows import config_from_json, config_to_json, standing_of
from agiletoolbox.adapters.postgres.session import Session
from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.errors import ConcurrentChange
from agiletoolbox.domain.ids import AccountId, IssueTypeId, ProjectKey, TenantKey
from agiletoolbox.domain.reporting import ReportCycle
from agiletoolbox.domain.standing import TenantStanding
from agiletoolbox.domain.tenant import ProductType, Region, Tenant, TenantState

SHARED_SECRET = "tenant.shared_secret"  # noqa: S105 - a label, not a secret
"""The purpose the shared secret's ciphertext is bound to."""

_TENANT_COLUMNS = (
    "tenant_key, base_url, shared_secret, product_type, region, state, installation_id, "
    "cloud_id, installed_at, updated_at, uninstalled_at, version, moving_to"
)
_SAVE_TENANT = f"""
INSERT INTO tenants ({_TENANT_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14)
ON CONFLICT (tenant_key) DO UPDATE SET
    base_url = excluded.base_url, shared_secret = excluded.shared_secret,
    product_type = excluded.product_type, region = excluded.region, state = excluded.state,
    installation_id = excluded.installation_id, cloud_id = excluded.cloud_id,
    installed_at = excluded.installed_at, updated_at = excluded.updated_at,
    uninstalled_at = excluded.uninstalled_at, version = excluded.version,
    moving_to = excluded.moving_to
WHERE tenants.version = $13
RETURNING 1
"""  # noqa: S608 - built from constants only; values are $n parameters
# One statement: the cascade takes rooms (and all in them) and defaults; error reports
# carry no foreign key (see the migration) and go in the same statement.
PURGE_TENANT = """
WITH reports AS (DELETE FROM error_reports WHERE tenant_key = $1),
     tokens AS (DELETE FROM forge_tokens WHERE tenant_key = $1)
DELETE FROM tenants WHERE tenant_key = $1
"""
_NO_TENANT = ""
"""How an error report that names no tenant is keyed (no tenant key is empty)."""


@frozen
class TenantRow:
    """A row of `tenants`, its secret still encrypted."""

    key: TenantKey
    base_url: str
    sealed_secret: str
    product_type: ProductType
    region: Region
    state: TenantState
    installation_id: str | None
    cloud_id: str | None
    installed_at: datetime
    updated_at: datetime
    uninstalled_at: datetime | None
    version: int
    moving_to: Region | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> TenantRow:
        """The tenant of a `tenants` row."""
        standing = standing_of(row["state"], row["moving_to"])
        return cls(
            key=TenantKey(row["tenant_key"]),
            base_url=row["base_url"],
            sealed_secret=row["shared_secret"],
            product_type=ProductType(row["product_type"]),
            region=Region(row["region"]),
            state=standing.state,
            installation_id=row["installation_id"],
            cloud_id=row["cloud_id"],
            installed_at=row["installed_at"],
            updated_at=row["updated_at"],
            uninstalled_at=row["uninstalled_at"],
            version=row["version"],
            moving_to=standing.moving_to,
        )

    def to_tenant(self, keys: KeyRing) -> Tenant:
        """The domain tenant, its secret decrypted."""
        return Tenant(
            key=self.key,
            base_url=self.base_url,
            shared_secret=keys.decrypt(
                self.sealed_secret, tenant=self.key.value, purpose=SHARED_SECRET
            ),
            product_type=self.product_type,
            region=self.region,
            state=self.state,
            installed_at=self.installed_at,
            updated_at=self.updated_at,
            installation_id=self.installation_id,
            cloud_id=self.cloud_id,
            uninstalled_at=self.uninstalled_at,
            version=self.version,
            moving_to=self.moving_to,
        )


class PostgresTenantRepository:
    """Tenants of this deployment; shared secrets encrypted at rest."""

    def __init__(self, connection: Session, keys: KeyRing) -> None:
        self._connection = connection
        self._keys = keys
        # The version each tenant had when read here: a save must find it unchanged.
        self._loaded: dict[TenantKey, int] = {}

    async def standing(self, key: TenantKey) -> TenantStanding | None:
        """Whether the tenant may be served: two columns, no secret decrypted."""
        row = await self._connection.fetchrow(
            "SELECT state, moving_to FROM tenants WHERE tenant_key = $1", key.value
        )
        return None if row is None else standing_of(row["state"], row["moving_to"])

    async def _one(self, where: str, value: str) -> Tenant | None:
        row = await self._connection.fetchrow(
            f"SELECT {_TENANT_COLUMNS} FROM tenants WHERE {where} = $1 "  # noqa: S608 - fixed names
            "ORDER BY tenant_key LIMIT 1",
            value,
        )
        if row is None:
            return None
        tenant = TenantRow.from_row(row).to_tenant(self._keys)
        self._loaded.setdefault(tenant.key, tenant.version)
        return tenant

    async def get(self, key: TenantKey) -> Tenant | None:
        """The tenant, or None."""
        return await self._one("tenant_key", key.value)

    async def find_by_installation(self, installation_id: str) -> Tenant | None:
        """The tenant linked to a Forge installation id, or None."""
        return await self._one("installation_id", installation_id)

    async def find_by_cloud_id(self, cloud_id: str) -> Tenant | None:
        """The tenant of a site's cloud id, or None."""
        return await self._one("cloud_id", cloud_id)

    async def save(self, tenant: Tenant) -> None:
        """Insert or update the tenant, its secret encrypted; `ConcurrentChange` when the
        tenant changed (or appeared) since this unit of work read it."""
        sealed = self._keys.encrypt(
            tenant.shared_secret, tenant=tenant.key.value, purpose=SHARED_SECRET
        )
        written = await self._connection.write(
            _SAVE_TENANT,
            tenant.key.value,
            tenant.base_url,
            sealed,
            tenant.product_type.value,
            tenant.region.value,
            tenant.state.value,
            tenant.installation_id,
            tenant.cloud_id,
            tenant.installed_at,
            tenant.updated_at,
            tenant.uninstalled_at,
            tenant.version,
            self._loaded.get(tenant.key),
            None if tenant.moving_to is None else tenant.moving_to.value,
        )
        if not written:
            raise ConcurrentChange("the tenant changed meanwhile")
        self._loaded[tenant.key] = tenant.version

    async def delete(self, key: TenantKey) -> None:
        """Delete the tenant and every row it owns, in one statement."""
        await self._connection.write(PURGE_TENANT, key.value)
        self._loaded.pop(key, None)

    async def uninstalled_before(self, cutoff: datetime) -> Sequence[TenantKey]:
        """Tenants uninstalled before `cutoff`."""
        rows = await self._connection.fetch(
            "SELECT tenant_key FROM tenants WHERE uninstalled_at < $1", cutoff
        )
        return sorted(TenantKey(row["tenant_key"]) for row in rows)

    async def all_keys(self) -> Sequence[TenantKey]:
        """Every tenant key."""
        rows = await self._connection.fetch("SELECT tenant_key FROM tenants")
        return sorted(TenantKey(row["tenant_key"]) for row in rows)


@frozen
class DefaultsRow:
    """A row of `room_defaults`."""

    defaults: SavedDefaults

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> DefaultsRow:
        """The saved defaults of a `room_defaults` row."""
        key = DefaultsKey(
            TenantKey(row["tenant_key"]),
            AccountId(row["account_id"]),
            ProjectKey(row["project_key"]),
            IssueTypeId(row["issue_type_id"]),
        )
        return cls(SavedDefaults(key, config_from_json(row["config"]), row["saved_at"]))


class PostgresDefaultsRepository:
    """People's saved room defaults."""

    def __init__(self, connection: Session) -> None:
        self._connection = connection

    async def get(self, key: DefaultsKey) -> SavedDefaults | None:
        """The saved defaults, or None."""
        row = await self._connection.fetchrow(
            "SELECT tenant_key, account_id, project_key, issue_type_id, config, saved_at "
            "FROM room_defaults WHERE tenant_key = $1 AND account_id = $2 "
            "AND project_key = $3 AND issue_type_id = $4",
            *_defaults_key(key),
        )
        return None if row is None else DefaultsRow.from_row(row).defaults

    async def count(self, tenant: TenantKey) -> int:
        """How many saved defaults the tenant keeps."""
        row = await self._connection.fetchrow(
            "SELECT count(*) AS n FROM room_defaults WHERE tenant_key = $1", tenant.value
        )
        return 0 if row is None else int(row["n"])

    async def save(self, defaults: SavedDefaults) -> None:
        """Insert or replace."""
        await self._connection.write(
            "INSERT INTO room_defaults "
            "(tenant_key, account_id, project_key, issue_type_id, config, saved_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (tenant_key, account_id, project_key, issue_type_id) "
            "DO UPDATE SET config = excluded.config, saved_at = excluded.saved_at",
            *_defaults_key(defaults.key),
            config_to_json(defaults.config),
            defaults.saved_at,
        )

    async def for_account(self, account: AccountId) -> Sequence[SavedDefaults]:
        """Every default the account saved, in any tenant of this deployment."""
        rows = await self._connection.fetch(
            "SELECT tenant_key, account_id, project_key, issue_type_id, config, saved_at "
            "FROM room_defaults WHERE account_id = $1 "
            "ORDER BY tenant_key, project_key, issue_type_id",
            account.value,
        )
        return [DefaultsRow.from_row(row).defaults for row in rows]

    async def erase_account(self, account: AccountId) -> int:
        """Delete every default the account saved; returns how many."""
        rows = await self._connection.write(
            "DELETE FROM room_defaults WHERE account_id = $1 RETURNING 1", account.value
        )
        return len(rows)


def _defaults_key(key: DefaultsKey) -> tuple[str, str, str, str]:
    return (key.tenant.value, key.account_id.value, key.project.value, key.issue_type.value)


@frozen
class ErrorReportRow:
    """A row of `error_reports`."""

    report: ErrorReport

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> ErrorReportRow:
        """The report of an `error_reports` row."""
        tenant = row["tenant_key"]
        return cls(
            ErrorReport(
                id=row["report_id"],
                at=row["at"],
                where=row["where"],
                message=row["message"],
                code=row["code"],
                tenant=TenantKey(tenant) if tenant != _NO_TENANT else None,
                count=row["count"],
                last_at=row["last_at"],
            )
        )


_REPORT_LOCK_CLASS = 0x4552  # "ER": the first key of the two-key advisory locks of reports


class PostgresErrorReportRepository:
    """Scrubbed error reports."""

    def __init__(self, connection: Session) -> None:
        self._connection = connection

    async def add(self, report: ErrorReport, *, counted_since: datetime) -> ErrorReport:
        """Store a report, or count it on an equal one stored since `counted_since` (equal
        reports from several processes take turns on a transaction lock)."""
        tenant = _NO_TENANT if report.tenant is None else report.tenant.value
        fingerprint = report.fingerprint
        await self._connection.write(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))", _REPORT_LOCK_CLASS, fingerprint
        )
        counted = await self._connection.write(
            "UPDATE error_reports SET count = count + 1, last_at = $4 "
            "WHERE tenant_key = $1 AND fingerprint = $2 AND at >= $3 "
            'RETURNING tenant_key, report_id, at, "where", message, code, count, last_at',
            tenant,
            fingerprint,
            counted_since,
            report.at,
        )
        if counted:
            return ErrorReportRow.from_row(counted[0]).report
        await self._connection.write(
            "INSERT INTO error_reports "
            '(tenant_key, report_id, at, "where", message, code, fingerprint) '
            # A report delivered twice is kept once; storing one must never fail.
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            tenant,
            report.id,
            report.at,
            report.where,
            report.message,
            report.code,
            fingerprint,
        )
        return report

    async def recent(self, limit: int) -> Sequence[ErrorReport]:
        """The newest reports first (by when they last happened)."""
        rows = await self._connection.fetch(
            'SELECT tenant_key, report_id, at, "where", message, code, count, last_at '
            "FROM error_reports "
            "ORDER BY coalesce(last_at, at) DESC LIMIT $1",
            limit,
        )
        return [ErrorReportRow.from_row(row).report for row in rows]

    async def delete_before(self, cutoff: datetime) -> int:
        """Delete reports older than `cutoff`; returns how many."""
        rows = await self._connection.write(
            "DELETE FROM error_reports WHERE at < $1 RETURNING 1", cutoff
        )
        return len(rows)


class PostgresReportCycleRepository:
    """Each tenant's place in the personal-data reporting cycle."""

    def __init__(self, connection: Session) -> None:
        self._connection = connection

    async def get(self, tenant: TenantKey) -> ReportCycle | None:
        """The tenant's reporting state, or None."""
        row = await self._connection.fetchrow(
            "SELECT last_completed_at, cycle_period_days, cursor_account_id, not_before "
            "FROM report_cycles WHERE tenant_key = $1",
            tenant.value,
        )
        if row is None:
            return None
        cursor = row["cursor_account_id"]
        return ReportCycle(
            tenant=tenant,
            last_completed_at=row["last_completed_at"],
            cycle_period_days=row["cycle_period_days"],
            cursor=None if cursor is None else AccountId(cursor),
            not_before=row["not_before"],
        )

    async def save(self, cycle: ReportCycle) -> None:
        """Insert or replace."""
        await self._connection.write(
            "INSERT INTO report_cycles "
            "(tenant_key, last_completed_at, cycle_period_days, cursor_account_id, not_before) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_key) DO UPDATE SET "
            "last_completed_at = excluded.last_completed_at, "
            "cycle_period_days = excluded.cycle_period_days, "
            "cursor_account_id = excluded.cursor_account_id, "
            "not_before = excluded.not_before",
            cycle.tenant.value,
            cycle.last_completed_at,
            cycle.cycle_period_days,
            None if cycle.cursor is None else cycle.cursor.value,
            cycle.not_before,
        )
