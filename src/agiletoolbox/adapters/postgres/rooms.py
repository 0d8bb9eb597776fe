"""Rooms in PostgreSQL: read whole in one query, written as a diff in one statement.

Saves are staged and written at commit, like the in-memory store, so a lost race surfaces
from `commit()` as `ConcurrentChange` (which the services retry on fresh state). The write
of a room is one statement: the room row, guarded by the version this unit of work read
(`... WHERE version = $loaded`), and in data-modifying CTEs only the participants, votes and
rounds that differ from what was read, then the NOTIFY of `(tenant, room, version)`. When
another writer committed first the guard matches no row, nothing else is written and no
notification is sent. The same happens to any write while the site moves to another region
(`room_sql.STILL_HERE`): an update or deletion then surfaces as `ConcurrentChange`, whose
retry finds the site closed, and a new room as `AccessRefused`. A unit of work whose only
write is that statement runs it on its own, outside a transaction: PostgreSQL makes one
statement atomic by itself, and it saves the `BEGIN` and `COMMIT` round trips.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import asyncpg

from agiletoolbox.adapters.postgres.room_sql import (
    BY_ISSUE,
    COLUMNS,
    DELETE,
    GET,
    MANY,
    WITH_ACCOUNT,
    save_statement,
)
from agiletoolbox.adapters.postgres.rows import (
    Snapshot,
    StoredRoom,
    changes,
    config_text,
    room_columns,
    standing_of,
)
from agiletoolbox.adapters.postgres.session import Session
from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.errors import AccessRefused, ConcurrentChange, InvalidState, NotFound
from agiletoolbox.domain.events import RoomEvent
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.standing import TenantStanding

RoomKey = tuple[TenantKey, RoomId]
Write = Callable[..., Awaitable[list[asyncpg.Record]]]


def _as_written(value: object) -> object:
    """A room column's value as the statement takes it (the configuration as JSON text)."""
    return config_text(value) if isinstance(value, RoomConfig) else value


# Wherever an account id is kept: people in rooms, owners, estimates they accepted, open
# votes, votes of finished rounds, and saved defaults.
_TENANT_ACCOUNTS = """
SELECT account_id, max(at) AS at FROM (
    SELECT account_id, joined_at AS at FROM participants WHERE tenant_key = $1
    UNION ALL
    SELECT owner, updated_at FROM rooms WHERE tenant_key = $1 AND owner IS NOT NULL
    UNION ALL
    SELECT estimate_accepted_by, estimate_accepted_at FROM rooms
    WHERE tenant_key = $1 AND estimate_accepted_by IS NOT NULL
    UNION ALL
    SELECT v.account_id, r.updated_at FROM votes v JOIN rooms r USING (tenant_key, room_id)
    WHERE v.tenant_key = $1
    UNION ALL
    SELECT rv.account_id, rd.ended_at FROM round_votes rv
    JOIN rounds rd USING (tenant_key, room_id, number) WHERE rv.tenant_key = $1
    UNION ALL
    SELECT account_id, saved_at FROM room_defaults WHERE tenant_key = $1
    UNION ALL
    SELECT owner, updated_at FROM sessions WHERE tenant_key = $1 AND owner IS NOT NULL
) stored
WHERE $2::text IS NULL OR account_id COLLATE "C" > $2
GROUP BY account_id ORDER BY account_id COLLATE "C" LIMIT $3
"""


class PostgresRoomRepository:
    """Rooms of one unit of work: reads go to the database, writes wait for the commit."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._loaded: dict[RoomKey, Snapshot] = {}
        self._added: set[RoomKey] = set()
        # The versions `idle_before` listed rooms at: what a deletion of one is checked by.
        self._listed: dict[RoomKey, int] = {}
        self._staged: dict[RoomKey, Room | None] = {}
        self._saved: list[Room] = []

    async def _read(
        self, query: str, tenant: TenantKey, value: str
    ) -> tuple[Room | None, TenantStanding | None]:
        """The room the query finds, with its tenant's standing (read in the same statement,
        so at the same moment); a room staged in this unit of work comes as staged."""
        row = await self._session.fetchrow(query, tenant.value, value)
        if row is None:
            return None, None
        return self._take(row)

    def _take(self, row: asyncpg.Record) -> tuple[Room | None, TenantStanding]:
        stored = StoredRoom.from_row(row)
        standing = standing_of(row["t_state"], row["t_moving_to"])
        key = (stored.room.tenant, stored.room.id)
        if key in self._staged:
            return self._staged[key], standing
        # The first read is what this unit of work's save is checked and diffed against.
        self._loaded.setdefault(key, stored.snapshot)
        return stored.room, standing

    async def get_served(self, tenant: TenantKey, room_id: RoomId) -> tuple[Room, TenantStanding]:
        """The room and its tenant's standing; `NotFound` when the tenant has no such room."""
        room, standing = await self._read(GET, tenant, room_id.value)
        if room is None or standing is None:
            raise NotFound("no such room")
        return room, standing

    async def get_served_many(
        self, keys: Sequence[RoomKey]
    ) -> dict[RoomKey, tuple[Room, TenantStanding]]:
        """Several rooms with their tenants' standings, in one query; a missing one is left
        out."""
        rows = await self._session.fetch(
            MANY, [{"t": tenant.value, "r": room.value} for tenant, room in keys]
        )
        found = {}
        for row in rows:
            room, standing = self._take(row)
            if room is not None:
                found[room.tenant, room.id] = (room, standing)
        return found

    async def adopt(self, room: Room) -> None:
        """Take a room this process saw committed as if read here (see the port): its save
        is diffed against it, guarded by its version and by the site being served (a room
        read in this unit of work keeps that read, whose standing was checked with it)."""
        self._loaded.setdefault((room.tenant, room.id), Snapshot.of(room, adopted=True))

    async def get(self, tenant: TenantKey, room_id: RoomId) -> Room:
        """The room; `NotFound` when the tenant has no such room."""
        key = (tenant, room_id)
        room = self._staged[key] if key in self._staged else (await self.get_served(*key))[0]
        if room is None:
            raise NotFound("no such room")
        return room

    async def find_by_issue(self, tenant: TenantKey, issue_key: IssueKey) -> Room | None:
        """The room of an issue, if one was opened."""
        for (owner, _), room in self._staged.items():
            if owner == tenant and room is not None and room.issue_key == issue_key:
                return room
        return (await self._read(BY_ISSUE, tenant, issue_key.value))[0]

    async def count(self, tenant: TenantKey) -> int:
        """How many rooms the tenant keeps."""
        row = await self._session.fetchrow(
            "SELECT count(*) AS n FROM rooms WHERE tenant_key = $1", tenant.value
        )
        return 0 if row is None else int(row["n"])

    async def add(self, room: Room) -> None:
        """Stage a new room; `InvalidState` when the issue already has one."""
        if await self.find_by_issue(room.tenant, room.issue_key) is not None:
            raise InvalidState("the issue already has a room")
        key = (room.tenant, room.id)
        self._added.add(key)
        self._staged[key] = room
        self._saved.append(room)

    async def save(self, room: Room) -> None:
        """Stage a changed room; it must have been read in this unit of work."""
        key = (room.tenant, room.id)
        if key not in self._loaded and key not in self._added:
            raise NotFound("save a room only after reading it")
        self._staged[key] = room
        self._saved.append(room)

    async def delete(self, tenant: TenantKey, room_id: RoomId) -> None:
        """Stage the deletion of the room and everything in it (guarded by the version it
        was read or listed at)."""
        self._staged[(tenant, room_id)] = None

    async def with_account(self, account: AccountId) -> Sequence[RoomKey]:
        """Every room that mentions the account, in any tenant of this deployment."""
        rows = await self._session.fetch(WITH_ACCOUNT, account.value)
        return sorted((TenantKey(r["tenant_key"]), RoomId(r["room_id"])) for r in rows)

    async def idle_before(self, cutoff: datetime) -> Sequence[RoomKey]:
        """Rooms that are not persistent and have not changed since `cutoff` (each one's
        version is kept, to guard its deletion)."""
        rows = await self._session.fetch(
            "SELECT tenant_key, room_id, version FROM rooms "
            "WHERE NOT persistent AND updated_at < $1",
            cutoff,
        )
        listed = []
        for row in rows:
            key = (TenantKey(row["tenant_key"]), RoomId(row["room_id"]))
            self._listed.setdefault(key, row["version"])
            listed.append(key)
        return sorted(listed)

    async def accounts(
        self, tenant: TenantKey, *, after: AccountId | None = None, limit: int | None = None
    ) -> Sequence[tuple[AccountId, datetime]]:
        """Every account id the tenant's rooms, saved defaults and sessions hold, each with
        the last time it was stored, in order (`COLLATE "C"`: by code point, as `AccountId`
        sorts), after `after`, at most `limit` of them. PostgreSQL sorts: sorting here
        compared attrs instances in Python, 100 ms for 2,200 accounts."""
        rows = await self._session.fetch(
            _TENANT_ACCOUNTS, tenant.value, None if after is None else after.value, limit
        )
        return [(AccountId(r["account_id"]), r["at"]) for r in rows]

    def collect_events(self) -> list[RoomEvent]:
        """Drain the events of the rooms saved through this repository."""
        events: list[RoomEvent] = []
        for room in self._saved:
            events.extend(room.drain_events())
        self._saved = []
        return events

    def staged(self) -> int:
        """How many room writes the commit will make."""
        return len(
            [k for k, room in self._staged.items() if room is not None or k not in self._added]
        )

    async def flush(self, *, alone: bool = False) -> None:
        """Write every staged change.

        With `alone` the caller vouches that nothing else was written in this unit of work:
        a single room write then runs as a statement of its own, which PostgreSQL makes
        a transaction by itself (no `BEGIN` and `COMMIT` round trips).
        """
        run = self._session.fetch if alone and self.staged() == 1 else self._session.write
        for key, room in self._staged.items():
            if room is None:
                await self._delete(run, key)
            elif key in self._added:
                values = [_as_written(v) for v in room_columns(room)]
                await self._write(run, None, values, room, Snapshot.empty())
            else:
                await self._update(run, room, self._loaded[key])
        self._staged.clear()
        self._added.clear()

    def _update(self, run: Write, room: Room, before: Snapshot) -> Awaitable[None]:
        # Only what changed is written: the key never does, the version always does. What a
        # change leaves alone is the very object that was read (the configuration, say).
        columns: list[str] = []
        parameters: list[object] = [room.tenant.value, room.id.value]
        for column, value, old in zip(COLUMNS, room_columns(room), before.columns, strict=True):
            if value is not old and value != old and column not in ("tenant_key", "room_id"):
                columns.append(column)
                parameters.append(_as_written(value))
        if "version" not in columns:
            columns.append("version")
            parameters.append(room.version)
        parameters.append(before.version)
        return self._write(run, tuple(columns), parameters, room, before)

    async def _write(
        self,
        run: Write,
        columns: tuple[str, ...] | None,
        parameters: list[object],
        room: Room,
        before: Snapshot,
    ) -> None:
        # `parameters` holds the row's values; each part's follow them, in order.
        parts = changes(room, before)
        served = before.adopted
        single: list[str] = []  # the parts of one row (a vote's), which take values
        for name, arrays in parts.items():
            if len(arrays[0]) == 1:
                single.append(name)
                parameters += [array[0] for array in arrays]
            else:
                parameters += arrays
        statement = save_statement(
            columns=columns, parts=tuple(parts), served=served, single=tuple(single)
        )
        try:
            notified = await run(statement, *parameters)
        except asyncpg.UniqueViolationError:
            raise ConcurrentChange("the issue got a room meanwhile") from None
        except asyncpg.ForeignKeyViolationError:
            raise NotFound("the room's tenant is not installed") from None
        if not notified and columns is None:
            # Only the guard against writes to a site that is moving stops an insert.
            raise AccessRefused("this Jira site may not use the app")
        if not notified:
            raise ConcurrentChange("the room changed meanwhile")

    async def _delete(self, run: Write, key: RoomKey) -> None:
        if key in self._added:
            return
        snapshot = self._loaded.get(key)
        expected = self._listed.get(key) if snapshot is None else snapshot.version
        gone = await run(DELETE, key[0].value, key[1].value, expected)
        if not gone and expected is not None:
            raise ConcurrentChange("the room changed meanwhile")
