"""A tenant's whole data set read out of PostgreSQL as one bundle, and written into
another deployment's database as an arrived copy.

The bundle is canonical JSON: every row of every table that holds tenant data, columns
as the schema has them (generated ones left out), rows sorted, keys sorted. Secrets are
decrypted on the way out and encrypted under the receiving deployment's own key on the
way in. Staging reads the copy back inside its transaction and compares its digest with
the sender's, so what is committed is exactly what was sent - or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agiletoolbox.adapters.postgres.encryption import KeyRing
from agiletoolbox.adapters.postgres.errors import storage_errors
from agiletoolbox.adapters.postgres.pool import ConnectionPool
from agiletoolbox.adapters.postgres.records import PURGE_TENANT
from agiletoolbox.adapters.postgres.schema import Connection
from agiletoolbox.adapters.postgres.sealed import SEALED_COLUMNS
from agiletoolbox.domain.errors import InvalidState, InvalidValue, NotFound
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.residency import Arrival, TransferFailed
from agiletoolbox.domain.tenant import Region
from agiletoolbox.ports.residency import TenantBundle

FORMAT = 1

TRANSFER_TABLES = (
    "tenants",
    "rooms",
    "participants",
    "votes",
    "rounds",
    "round_votes",
    "room_defaults",
    "sessions",
    "session_issues",
    "report_cycles",
    "error_reports",
)
"""Every table of tenant data, parents before children (the order rows are inserted in)."""

NOT_TRANSFERRED = frozenset(
    {
        "region_migrations",
        "region_arrivals",
        "forge_tokens",
        "presence_leases",
        "presence_processes",
    }
)
"""Tables keyed by tenant that do not move: the move's own bookkeeping, the Forge system
token (a cache bound to the installation, refilled by the next scheduled call), and the
presence leases of the source's processes and their heartbeats (nobody is connected
while the site moves)."""

ENCRYPTED: Mapping[tuple[str, str], str] = {
    place: purpose for place, purpose in SEALED_COLUMNS.items() if place[0] in TRANSFER_TABLES
}
"""The sealed columns that travel, with the purpose their ciphertext is bound to."""


BARRIER_TIMEOUT = "15s"
"""How long the copy waits for room writes that began before the move to finish."""


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _encode(payload: object) -> bytes:
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


class PostgresTenantArchive:
    """`TenantArchive` over a deployment's pool and key ring."""

    def __init__(self, pool: ConnectionPool, keys: KeyRing) -> None:
        self._pool = pool
        self._keys = keys
        self._columns: dict[str, tuple[str, ...]] = {}

    async def _table_columns(self, connection: Connection, table: str) -> tuple[str, ...]:
        if table not in self._columns:
            rows = await connection.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = $1 "
                "AND is_generated = 'NEVER' ORDER BY ordinal_position",
                table,
            )
            self._columns[table] = tuple(row["column_name"] for row in rows)
        return self._columns[table]

    async def _read(self, connection: Connection, tenant: TenantKey) -> bytes:
        tables: dict[str, list[dict[str, object]]] = {}
        for table in TRANSFER_TABLES:
            columns = await self._table_columns(connection, table)
            quoted = ", ".join(f'"{column}"' for column in columns)
            records = await connection.fetch(
                f"SELECT {quoted} FROM {table} WHERE tenant_key = $1",  # noqa: S608 - fixed names
                tenant.value,
            )
            rows = []
            for record in records:
                row = {column: _plain(record[column]) for column in columns}
                for (owner, column), purpose in ENCRYPTED.items():
                    if owner == table:
                        row[column] = self._keys.decrypt(
                            str(row[column]), tenant=tenant.value, purpose=purpose
                        )
                rows.append(row)
            rows.sort(key=_encode)
            tables[table] = rows
        if not tables["tenants"]:
            raise NotFound("no such site")
        return _encode({"format": FORMAT, "tenant": tenant.value, "tables": tables})

    async def export(self, tenant: TenantKey) -> TenantBundle:
        """Every row of the tenant, read in one consistent snapshot.

        The site stopped taking writes before this is called (`tenants.moving_to`), but a
        room write that began just before may still be committing. Room writes hold a
        lock on `rooms` from before their snapshot until they commit, so taking the lock
        that excludes them, and letting it go at once, waits for those and no others:
        every room write after it sees the site moving and writes nothing.
        """
        with storage_errors():
            async with self._pool.acquire() as connection:
                async with connection.transaction():
                    await connection.execute(f"SET LOCAL lock_timeout = '{BARRIER_TIMEOUT}'")
                    await connection.execute("LOCK TABLE rooms IN SHARE MODE")
                async with connection.transaction(isolation="repeatable_read", readonly=True):
                    data = await self._read(connection, tenant)
        return TenantBundle(tenant, data)

    async def stage(self, bundle: TenantBundle, arrival: Arrival, here: Region) -> str:
        """Write the bundle as an arrived copy in one transaction; the digest read back."""
        tables = self._parse(bundle, arrival)
        site = tables["tenants"][0]
        if (site.get("region"), site.get("moving_to")) != (arrival.source.value, here.value):
            raise InvalidState("the copy is not of a site moving to this region")
        key = bundle.tenant.value
        with storage_errors():
            async with self._pool.acquire() as connection, connection.transaction():
                served = await connection.fetchval(
                    "SELECT NOT EXISTS (SELECT 1 FROM region_arrivals WHERE tenant_key = $1) "
                    "FROM tenants WHERE tenant_key = $1 FOR UPDATE",
                    key,
                )
                if served:
                    raise InvalidState("the site is served here")
                await connection.execute(PURGE_TENANT, key)
                for table in TRANSFER_TABLES:
                    await self._insert(connection, table, tables[table], key)
                await connection.execute(
                    "INSERT INTO region_arrivals "
                    "(tenant_key, migration_id, source, digest, staged_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    key,
                    arrival.migration_id,
                    arrival.source.value,
                    arrival.digest,
                    arrival.staged_at,
                )
                stored = TenantBundle(bundle.tenant, await self._read(connection, bundle.tenant))
                if stored.digest != bundle.digest:
                    raise TransferFailed("the stored copy differs from the one sent")
        return stored.digest

    def _parse(self, bundle: TenantBundle, arrival: Arrival) -> dict[str, Any]:
        if arrival.tenant != bundle.tenant or arrival.digest != bundle.digest:
            raise InvalidValue("the bundle is not the one announced")
        try:
            payload = json.loads(bundle.data)
        except ValueError:
            raise InvalidValue("the bundle is not valid JSON") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise InvalidValue("the bundle's format is not known")
        if payload.get("tenant") != bundle.tenant.value:
            raise InvalidValue("the bundle is of another site")
        tables = payload.get("tables")
        if not isinstance(tables, dict) or set(tables) != set(TRANSFER_TABLES):
            raise InvalidValue("the bundle's tables are not this schema's")
        for rows in tables.values():
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise InvalidValue("the bundle's rows are not valid")
        if len(tables["tenants"]) != 1:
            raise InvalidValue("the bundle holds no site")
        return tables

    async def _insert(
        self, connection: Connection, table: str, rows: list[dict[str, Any]], key: str
    ) -> None:
        if not rows:
            return
        columns = await self._table_columns(connection, table)
        for row in rows:
            if set(row) != set(columns):
                raise InvalidValue(f"the bundle's {table} rows do not match this schema")
            if row["tenant_key"] != key:
                raise InvalidValue("the bundle holds rows of another site")
            for (owner, column), purpose in ENCRYPTED.items():
                if owner == table:
                    row[column] = self._keys.encrypt(str(row[column]), tenant=key, purpose=purpose)
        quoted = ", ".join(f'"{column}"' for column in columns)
        await connection.execute(
            f"INSERT INTO {table} ({quoted}) "  # noqa: S608 - fixed names
            f"SELECT {quoted} FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb)",
            rows,
        )
