"""Presence leases in PostgreSQL: which process holds sockets of whom, for how long."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from agiletoolbox.adapters.postgres.errors import storage_errors
from agiletoolbox.adapters.postgres.pool import ConnectionPool
from agiletoolbox.domain.ids import AccountId, RoomId, TenantKey
from agiletoolbox.ports.presence import Seat

LEASE = timedelta(seconds=90)
"""How long a lease lasts unless renewed (processes renew every 30 s)."""

# A lease is live while its process's row is (or, written by an earlier version, while
# its own `expires_at` is: see migration 0014).
_LIVE = "(p.expires_at >= now() OR l.expires_at >= now())"

_ALIVE = """
UPDATE presence_processes SET expires_at = now() + $2::interval WHERE process_id = $1
"""
# Arriving also says the process is alive (for the tenant), so its first lease counts.
_ARRIVE = """
WITH alive AS (
    INSERT INTO presence_processes (tenant_key, process_id, expires_at)
    VALUES ($1, $4, now() + $5::interval)
    ON CONFLICT (tenant_key, process_id) DO UPDATE SET expires_at = excluded.expires_at
)
INSERT INTO presence_leases (tenant_key, room_id, account_id, process_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_key, room_id, account_id, process_id) DO NOTHING
"""
# The delete and the check see the same snapshot; the check skips this process's row.
_LEAVE = f"""
WITH mine AS (
    DELETE FROM presence_leases
    WHERE tenant_key = $1 AND room_id = $2 AND account_id = $3 AND process_id = $4
)
SELECT NOT EXISTS (
    SELECT 1 FROM presence_leases l LEFT JOIN presence_processes p USING (tenant_key, process_id)
    WHERE l.tenant_key = $1 AND l.room_id = $2 AND l.account_id = $3 AND l.process_id <> $4
      AND {_LIVE}
)
"""  # noqa: S608 - constant SQL
# Leases whose process stopped saying it is alive go, and so do dead processes' rows; the
# people left without a live lease come back. Every part sees the same snapshot.
_EXPIRED = f"""
WITH gone AS (
    DELETE FROM presence_leases l
    WHERE NOT EXISTS (
        SELECT 1 FROM presence_processes p
        WHERE p.tenant_key = l.tenant_key AND p.process_id = l.process_id
          AND p.expires_at >= now()
    )
    AND (l.expires_at IS NULL OR l.expires_at < now())
    RETURNING tenant_key, room_id, account_id
), dead AS (
    DELETE FROM presence_processes WHERE expires_at < now()
)
SELECT DISTINCT g.tenant_key, g.room_id, g.account_id FROM gone g
WHERE NOT EXISTS (
    SELECT 1 FROM presence_leases l LEFT JOIN presence_processes p USING (tenant_key, process_id)
    WHERE l.tenant_key = g.tenant_key AND l.room_id = g.room_id
      AND l.account_id = g.account_id AND {_LIVE}
)
"""  # noqa: S608 - constant SQL


class PostgresPresence:
    """`PresenceBoard` shared by every process on one database."""

    def __init__(self, pool: ConnectionPool, *, lease: timedelta = LEASE) -> None:
        self._pool = pool
        self._lease = lease
        self.process_id = secrets.token_hex(8)

    async def arrive(self, tenant: TenantKey, room_id: RoomId, account: AccountId) -> None:
        """Take or renew this process's lease on the person in the room.

        A person who is not (or no longer) a participant has no lease: the foreign key
        refuses it, and presence is only ever kept for participants.
        """
        with storage_errors():
            try:
                await self._pool.execute(
                    _ARRIVE,
                    tenant.value,
                    room_id.value,
                    account.value,
                    self.process_id,
                    self._lease,
                )
            except asyncpg.ForeignKeyViolationError:
                return

    async def leave(self, tenant: TenantKey, room_id: RoomId, account: AccountId) -> bool:
        """Drop this process's lease; True when no other process holds a live one."""
        with storage_errors():
            alone = await self._pool.fetchval(
                _LEAVE, tenant.value, room_id.value, account.value, self.process_id
            )
        return bool(alone)

    async def renew(self) -> None:
        """Extend every lease of this process: a row per tenant, however many leases."""
        with storage_errors():
            await self._pool.execute(_ALIVE, self.process_id, self._lease)

    async def expired(self) -> Sequence[Seat]:
        """Remove leases that ran out; the people left without any live lease."""
        with storage_errors():
            rows = await self._pool.fetch(_EXPIRED)
        return [
            (TenantKey(row["tenant_key"]), RoomId(row["room_id"]), AccountId(row["account_id"]))
            for row in rows
        ]
