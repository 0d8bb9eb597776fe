"""An in-memory store with real transactions: staged changes, version checks at commit."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from attrs import define, field

from agiletoolbox.adapters.memory.forge_tokens import MemorySystemTokenRepository
from agiletoolbox.adapters.memory.records import (
    MemoryArrivalRepository,
    MemoryDefaultsRepository,
    MemoryErrorReportRepository,
    MemoryMigrationRepository,
    MemoryReportCycleRepository,
)
from agiletoolbox.adapters.memory.sessions import MemorySessionRepository
from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.errors import AccessRefused, ConcurrentChange, InvalidState, NotFound
from agiletoolbox.domain.events import RoomEvent
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, SessionId, TenantKey
from agiletoolbox.domain.reporting import ReportCycle
from agiletoolbox.domain.residency import Arrival, Migration
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import RefinementSession
from agiletoolbox.domain.standing import TenantStanding
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports.forge import SystemToken

RoomKey = tuple[TenantKey, RoomId]


@define
class MemoryStore:
    """What is committed. Create one per application (or test) and units of work from it."""

    rooms: dict[RoomKey, Room] = field(factory=dict)
    tenants: dict[TenantKey, Tenant] = field(factory=dict)
    defaults: dict[DefaultsKey, SavedDefaults] = field(factory=dict)
    error_reports: list[ErrorReport] = field(factory=list)
    report_cycles: dict[TenantKey, ReportCycle] = field(factory=dict)
    system_tokens: dict[TenantKey, SystemToken] = field(factory=dict)
    migrations: dict[TenantKey, Migration] = field(factory=dict)
    arrivals: dict[TenantKey, Arrival] = field(factory=dict)
    sessions: dict[tuple[TenantKey, SessionId], RefinementSession] = field(factory=dict)
    commits: int = 0

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A new unit of work over this store."""
        return MemoryUnitOfWork(self)

    def purge_tenant(self, key: TenantKey) -> None:
        """Drop every row of a tenant, as the database's cascade does."""
        self.tenants.pop(key, None)
        for room_key in [k for k in self.rooms if k[0] == key]:
            del self.rooms[room_key]
        for defaults_key in [k for k in self.defaults if k.tenant == key]:
            del self.defaults[defaults_key]
        self.error_reports = [r for r in self.error_reports if r.tenant != key]
        self.report_cycles.pop(key, None)
        self.system_tokens.pop(key, None)
        self.migrations.pop(key, None)
        self.arrivals.pop(key, None)
        for session_key in [k for k in self.sessions if k[0] == key]:
            del self.sessions[session_key]


class MemoryRoomRepository:
    """Rooms staged in the unit of work, checked against their loaded version at commit."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._staged: dict[RoomKey, Room | None] = {}
        self._expected: dict[RoomKey, int | None] = {}
        self._listed: dict[RoomKey, int] = {}
        self._adopted: set[RoomKey] = set()
        self._saved: list[Room] = []

    def _visible(self) -> dict[RoomKey, Room]:
        rooms = dict(self._store.rooms)
        for key, room in self._staged.items():
            if room is None:
                rooms.pop(key, None)
            else:
                rooms[key] = room
        return rooms

    def _load(self, key: RoomKey, room: Room) -> Room:
        if key in self._staged:
            return room
        self._expected.setdefault(key, room.version)
        return copy.deepcopy(room)

    async def get(self, tenant: TenantKey, room_id: RoomId) -> Room:
        """The room; `NotFound` when the tenant has no such room."""
        key = (tenant, room_id)
        room = self._visible().get(key)
        if room is None:
            raise NotFound("no such room")
        return self._load(key, room)

    async def get_served(self, tenant: TenantKey, room_id: RoomId) -> tuple[Room, TenantStanding]:
        """The room and its tenant's standing; `NotFound` when the tenant has no such room."""
        room = await self.get(tenant, room_id)
        site = self._store.tenants.get(tenant)
        if site is None:  # pragma: no cover - a room's tenant is deleted with its rooms
            raise NotFound("no such room")
        return room, site.standing

    async def get_served_many(
        self, keys: Sequence[RoomKey]
    ) -> dict[RoomKey, tuple[Room, TenantStanding]]:
        """Several rooms with their tenants' standings; a missing one is left out."""
        found = {}
        for key in keys:
            try:
                found[key] = await self.get_served(*key)
            except NotFound:
                continue
        return found

    async def adopt(self, room: Room) -> None:
        """Take a room this process saw committed as if read here (see the port)."""
        key = (room.tenant, room.id)
        self._expected.setdefault(key, room.version)
        self._adopted.add(key)

    async def find_by_issue(self, tenant: TenantKey, issue_key: IssueKey) -> Room | None:
        """The room of an issue, if one was opened."""
        for key, room in self._visible().items():
            if key[0] == tenant and room.issue_key == issue_key:
                return self._load(key, room)
        return None

    async def count(self, tenant: TenantKey) -> int:
        """How many rooms the tenant keeps."""
        return sum(1 for key in self._store.rooms if key[0] == tenant)

    async def add(self, room: Room) -> None:
        """Stage a new room."""
        if await self.find_by_issue(room.tenant, room.issue_key) is not None:
            raise InvalidState("the issue already has a room")
        key = (room.tenant, room.id)
        self._staged[key] = room
        self._expected[key] = None
        self._saved.append(room)

    async def save(self, room: Room) -> None:
        """Stage a changed room."""
        key = (room.tenant, room.id)
        if key not in self._expected:
            raise NotFound("save a room only after reading it")
        self._staged[key] = room
        self._saved.append(room)

    async def delete(self, tenant: TenantKey, room_id: RoomId) -> None:
        """Stage the room's deletion (guarded by the version it was read or listed at)."""
        key = (tenant, room_id)
        if key in self._listed:
            self._expected.setdefault(key, self._listed[key])
        room = self._visible().get(key)
        if room is not None:
            self._load(key, room)
        self._staged[key] = None

    async def with_account(self, account: AccountId) -> Sequence[RoomKey]:
        """Every room that mentions the account."""
        return sorted(k for k, room in self._visible().items() if room.mentions(account))

    async def idle_before(self, cutoff: datetime) -> Sequence[RoomKey]:
        """Non-persistent rooms unchanged since `cutoff` (each one's version is kept, to
        guard its deletion)."""
        idle = {
            k: room.version
            for k, room in self._visible().items()
            if not room.config.persistent and room.updated_at < cutoff
        }
        for key, version in idle.items():
            self._listed.setdefault(key, version)
        return sorted(idle)

    async def accounts(
        self, tenant: TenantKey, *, after: AccountId | None = None, limit: int | None = None
    ) -> Sequence[tuple[AccountId, datetime]]:
        """Account ids the tenant's rooms, saved defaults and sessions hold, each with the
        last time it was stored, in order, after `after`, at most `limit` of them."""
        seen: dict[AccountId, datetime] = {}

        def keep(account: AccountId | None, at: datetime) -> None:
            if account is not None and (account not in seen or at > seen[account]):
                seen[account] = at

        for (owner_tenant, _), room in self._visible().items():
            if owner_tenant != tenant:
                continue
            for participant in room.participants.values():
                keep(participant.account_id, participant.joined_at)
            keep(room.owner, room.updated_at)
            if room.estimate is not None:
                keep(room.estimate.accepted_by, room.estimate.accepted_at)
            for account in room.votes:
                keep(account, room.updated_at)
            for record in room.history:
                for account, _label in record.votes:
                    keep(account, record.ended_at)
        for key, saved in self._store.defaults.items():
            if key.tenant == tenant:
                keep(key.account_id, saved.saved_at)
        for (owner_tenant, _), session in self._store.sessions.items():
            if owner_tenant == tenant:
                keep(session.owner, session.updated_at)
        listed = sorted(item for item in seen.items() if after is None or item[0] > after)
        return listed if limit is None else listed[:limit]

    def collect_events(self) -> list[RoomEvent]:
        """Drain the events of the rooms saved through this repository."""
        events: list[RoomEvent] = []
        for room in self._saved:
            events.extend(room.drain_events())
        self._saved = []
        return events

    def check(self) -> None:
        """Refuse the commit if anyone committed a staged room first."""
        for key in self._adopted & set(self._staged):
            site = self._store.tenants.get(key[0])
            if site is None or not site.standing.accessible:
                raise ConcurrentChange("the site may not be served")
        for key in list(self._staged):
            site = self._store.tenants.get(key[0])
            if site is None or site.moving_to is None:
                continue
            # As in PostgreSQL: a site that is moving to another region takes no writes.
            if key not in self._expected:
                continue  # the deletion of a room that is not there
            if self._expected[key] is None:
                raise AccessRefused("this Jira site may not use the app")
            else:
                raise ConcurrentChange("the room changed meanwhile")
        for key, expected in self._expected.items():
            if key not in self._staged:
                continue
            current = self._store.rooms.get(key)
            if expected is None:
                staged = self._staged[key]
                clash = current is not None or any(
                    k[0] == key[0] and staged is not None and r.issue_key == staged.issue_key
                    for k, r in self._store.rooms.items()
                )
                if clash:
                    raise ConcurrentChange("the issue got a room meanwhile")
            elif current is None or current.version != expected:
                raise ConcurrentChange("the room changed meanwhile")

    def apply(self) -> None:
        """Write the staged rooms to the store."""
        for key, room in self._staged.items():
            if room is None:
                self._store.rooms.pop(key, None)
            else:
                stored = copy.deepcopy(room)
                # What is committed has no pending events: they belong to this transaction.
                stored.pending_events = []
                self._store.rooms[key] = stored


class MemoryTenantRepository:
    """Tenants staged in the unit of work."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._staged: dict[TenantKey, Tenant | None] = {}
        self._loaded: dict[TenantKey, int] = {}
        self._deleted: set[TenantKey] = set()

    def _visible(self) -> dict[TenantKey, Tenant]:
        tenants = dict(self._store.tenants)
        for key, tenant in self._staged.items():
            if tenant is None:
                tenants.pop(key, None)
            else:
                tenants[key] = tenant
        return tenants

    def _load(self, tenant: Tenant) -> Tenant:
        if tenant.key not in self._staged:
            self._loaded.setdefault(tenant.key, tenant.version)
        return copy.deepcopy(tenant)

    async def get(self, key: TenantKey) -> Tenant | None:
        """The tenant, or None."""
        tenant = self._visible().get(key)
        return self._load(tenant) if tenant is not None else None

    async def standing(self, key: TenantKey) -> TenantStanding | None:
        """Whether the tenant may be served, or None."""
        tenant = self._visible().get(key)
        return None if tenant is None else tenant.standing

    async def find_by_installation(self, installation_id: str) -> Tenant | None:
        """The tenant linked to a Forge installation."""
        for tenant in self._visible().values():
            if tenant.installation_id == installation_id:
                return self._load(tenant)
        return None

    async def find_by_cloud_id(self, cloud_id: str) -> Tenant | None:
        """The tenant of a site's cloud id (the first by key, as PostgreSQL orders it)."""
        for key in sorted(self._visible()):
            tenant = self._visible()[key]
            if tenant.cloud_id == cloud_id:
                return self._load(tenant)
        return None

    async def save(self, tenant: Tenant) -> None:
        """Stage an insert or update."""
        self._staged[tenant.key] = copy.deepcopy(tenant)

    async def delete(self, key: TenantKey) -> None:
        """Stage the deletion of the tenant and all it owns."""
        self._staged[key] = None
        self._loaded.pop(key, None)
        self._deleted.add(key)

    async def uninstalled_before(self, cutoff: datetime) -> Sequence[TenantKey]:
        """Tenants uninstalled before `cutoff`."""
        return sorted(
            key
            for key, tenant in self._visible().items()
            if tenant.uninstalled_at is not None and tenant.uninstalled_at < cutoff
        )

    async def all_keys(self) -> Sequence[TenantKey]:
        """Every tenant key."""
        return sorted(self._visible())

    def check(self) -> None:
        """Refuse the commit if a saved tenant changed (or appeared) since it was read."""
        for key, tenant in self._staged.items():
            if tenant is None:
                continue
            current = self._store.tenants.get(key)
            expected = self._loaded.get(key)
            if key in self._deleted and expected is None:
                continue
            if (current.version if current else None) != expected:
                raise ConcurrentChange("the tenant changed meanwhile")

    def apply(self) -> None:
        """Write staged tenants; a deletion cascades to everything of the tenant."""
        for key, tenant in self._staged.items():
            if tenant is None:
                self._store.purge_tenant(key)
            else:
                self._store.tenants[key] = copy.deepcopy(tenant)


class MemoryUnitOfWork:
    """One transaction over the in-memory store; rolls back unless committed."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._begin()

    def _begin(self) -> None:
        self.rooms = MemoryRoomRepository(self._store)
        self.tenants = MemoryTenantRepository(self._store)
        self.defaults = MemoryDefaultsRepository(self._store)
        self.error_reports = MemoryErrorReportRepository(self._store)
        self.report_cycles = MemoryReportCycleRepository(self._store)
        self.system_tokens = MemorySystemTokenRepository(self._store)
        self.migrations = MemoryMigrationRepository(self._store)
        self.arrivals = MemoryArrivalRepository(self._store)
        self.sessions = MemorySessionRepository(self._store)
        self.committed = False

    async def __aenter__(self) -> Self:
        self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            await self.rollback()

    async def commit(self) -> None:
        """Check versions, then apply every staged change at once."""
        self.rooms.check()
        self.tenants.check()
        self.migrations.check()
        self.sessions.check()
        self.rooms.apply()
        self.tenants.apply()
        self.defaults.apply()
        self.error_reports.apply()
        self.report_cycles.apply()
        self.system_tokens.apply()
        self.migrations.apply()
        self.arrivals.apply()
        self.sessions.apply()
        self._store.commits += 1
        self.committed = True

    async def rollback(self) -> None:
        """Forget every staged change (the saved rooms' events go with them)."""
        self._begin()
