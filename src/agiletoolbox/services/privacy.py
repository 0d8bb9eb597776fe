"""Privacy use cases: purging on schedule and erasing an account everywhere."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from attrs import evolve, frozen

from agiletoolbox.domain.defaults import SavedDefaults
from agiletoolbox.domain.errors import AccessRefused, NotFound
from agiletoolbox.domain.ids import AccountId, RoomId, SessionId, TenantKey
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import RefinementSession
from agiletoolbox.domain.standing import TenantStanding
from agiletoolbox.domain.subject import RoomTrace, trace_of
from agiletoolbox.ports import Clock, JobLock, RoomEventBus, UnitOfWorkFactory
from agiletoolbox.services.changes import RoomChanges
from agiletoolbox.services.retry import retrying

T = TypeVar("T")

log = logging.getLogger(__name__)

PURGE_BATCH = 500
"""How many sites or rooms one unit of work of a purge deletes."""


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


@frozen
class PurgeReport:
    """How much a purge removed (or would remove, in a dry run), per kind."""

    tenants: int
    rooms: int
    error_reports: int
    abandoned_copies: int = 0
    sessions: int = 0


class PrivacyService:
    """Carries out the retention policy and data-subject erasure."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        events: RoomEventBus,
        clock: Clock,
        retention: RetentionPolicy,
    ) -> None:
        self._uow = unit_of_work
        self._changes = RoomChanges(unit_of_work, events, clock)
        self._clock = clock
        self._retention = retention

    async def purge(
        self,
        as_of: datetime | None = None,
        *,
        dry_run: bool = False,
        progress: Callable[[PurgeReport], None] | None = None,
        batch: int = PURGE_BATCH,
    ) -> PurgeReport:
        """Delete what the policy says is due at `as_of` (default: now).

        A real run deletes in units of work of `batch` items, each item checked again as
        it goes (a site re-installed, a room used since the list was read, stays), and
        calls `progress` with the running totals after each. A dry run does the same work
        in one unit of work that is never committed, so its counts are exactly what a real
        run would remove.
        """
        moment = as_of or self._clock.now()
        cutoffs = self._retention.cutoffs(moment)
        async with self._uow() as uow:
            tenants = await uow.tenants.uninstalled_before(cutoffs.uninstalled_before)
            rooms = [
                room
                for room in await uow.rooms.idle_before(cutoffs.idle_room_before)
                if room[0] not in tenants
            ]
            sessions = [
                key
                for key in await uow.sessions.idle_before(cutoffs.idle_room_before)
                if key[0] not in tenants
            ]
            abandoned = await uow.arrivals.staged_before(cutoffs.abandoned_copy_before)
            if dry_run:
                for key in (*tenants, *abandoned):
                    await uow.tenants.delete(key)
                for tenant, room_id in rooms:
                    await uow.rooms.delete(tenant, room_id)
                for tenant, session_id in sessions:
                    await uow.sessions.delete(tenant, session_id)
                reports = await uow.error_reports.delete_before(cutoffs.error_report_before)
                return PurgeReport(len(tenants), len(rooms), reports, len(abandoned), len(sessions))
        done = PurgeReport(0, 0, 0)
        for sites in _chunks(tenants, batch):
            removed = await self._purge_tenants(sites, moment)
            done = evolve(done, tenants=done.tenants + removed)
            if progress is not None:
                progress(done)
        for idle in _chunks(rooms, batch):
            removed = await self._purge_rooms(idle, cutoffs.idle_room_before)
            done = evolve(done, rooms=done.rooms + removed)
            if progress is not None:
                progress(done)
        for idle_sessions in _chunks(sessions, batch):
            removed = await self._purge_sessions(idle_sessions, cutoffs.idle_room_before)
            done = evolve(done, sessions=done.sessions + removed)
            if progress is not None:
                progress(done)
        async with self._uow() as uow:
            reports = await uow.error_reports.delete_before(cutoffs.error_report_before)
            copies = await uow.arrivals.staged_before(cutoffs.abandoned_copy_before)
            for key in copies:
                await uow.tenants.delete(key)
            await uow.commit()
        return evolve(done, error_reports=reports, abandoned_copies=len(copies))

    async def _purge_tenants(self, keys: Sequence[TenantKey], now: datetime) -> int:
        async with self._uow() as uow:
            removed = 0
            for key in keys:
                tenant = await uow.tenants.get(key)
                if tenant is not None and tenant.expired(self._retention, now):
                    await uow.tenants.delete(key)
                    removed += 1
            await uow.commit()
        return removed

    async def _purge_sessions(
        self, sessions: Sequence[tuple[TenantKey, SessionId]], cutoff: datetime
    ) -> int:
        """Delete those of `sessions` still idle; one used meanwhile is kept (the deletion
        is guarded by the version read, and a lost race checks the batch again). The rooms
        a purged session opened follow their own idle rule."""

        async def attempt() -> int:
            async with self._uow() as uow:
                removed = 0
                for tenant, session_id in sessions:
                    try:
                        session = await uow.sessions.get(tenant, session_id)
                    except NotFound:
                        continue
                    if not session.config.persistent and session.updated_at < cutoff:
                        await uow.sessions.delete(tenant, session_id)
                        removed += 1
                await uow.commit()
            return removed

        return await retrying(attempt)

    async def _purge_rooms(
        self, rooms: Sequence[tuple[TenantKey, RoomId]], cutoff: datetime
    ) -> int:
        """Delete those of `rooms` that are still idle. A room used meanwhile is kept, even
        when the use lands between this check and the commit: each deletion is guarded by
        the version the check saw, and a lost race checks the batch again."""

        async def attempt() -> int:
            async with self._uow() as uow:
                still_idle = set(await uow.rooms.idle_before(cutoff))
                removed = 0
                for tenant, room_id in rooms:
                    if (tenant, room_id) in still_idle:
                        await uow.rooms.delete(tenant, room_id)
                        removed += 1
                await uow.commit()
            return removed

        return await retrying(attempt)

    async def purge_if_first(
        self, lock: JobLock, as_of: datetime | None = None
    ) -> PurgeReport | None:
        """Purge unless another process is purging already (then None)."""
        async with lock.exclusive("purge") as mine:
            if not mine:
                return None
            return await self.purge(as_of)

    async def export_account(
        self, account: AccountId
    ) -> tuple[list[RoomTrace], list[SavedDefaults], list[RefinementSession]]:
        """Everything stored about an account in this region (a data-subject request):
        room traces, saved defaults, and the sessions it owns."""
        async with self._uow() as uow:
            traces = []
            for tenant, room_id in await uow.rooms.with_account(account):
                trace = trace_of(await uow.rooms.get(tenant, room_id), account)
                if trace is not None:
                    traces.append(trace)
            defaults = list(await uow.defaults.for_account(account))
            sessions = [
                await uow.sessions.get(tenant, session_id)
                for tenant, session_id in await uow.sessions.with_account(account)
            ]
        return traces, defaults, sessions

    async def erase_account(self, account: AccountId) -> int:
        """Erase every trace of an account in this region; returns how many rooms changed."""
        async with self._uow() as uow:
            rooms = await uow.rooms.with_account(account)
        changed = 0
        for tenant, room_id in rooms:
            changed += await self._erase_in_room(account, tenant, room_id)
        async with self._uow() as uow:
            await uow.defaults.erase_account(account)
            await uow.commit()
        async with self._uow() as uow:
            sessions = await uow.sessions.with_account(account)
        for tenant, session_id in sessions:
            changed += await self._erase_in_session(account, tenant, session_id)
        return changed

    async def _erase_in_session(
        self, account: AccountId, tenant: TenantKey, session_id: SessionId
    ) -> int:
        """Forget the account as a session's owner (a session keeps no other account)."""

        async def attempt() -> int:
            async with self._uow() as uow:
                try:
                    session = await uow.sessions.get(tenant, session_id)
                except NotFound:
                    return 0
                session.erase_account(account, self._clock.now())
                await uow.sessions.save(session)
                await uow.commit()
                return 1

        return await retrying(attempt)

    async def _erase_in_room(self, account: AccountId, tenant: TenantKey, room_id: RoomId) -> int:
        erased = False

        def erase(room: Room, now: datetime) -> None:
            nonlocal erased
            erased = room.erase_account(account, now)

        try:
            await self._changes.apply(tenant, room_id, erase, admit=_staying)
        except NotFound:
            return 0
        except AccessRefused:
            # The site is being copied to another region and takes no writes. The account
            # stays in the copy; the region that ends up serving the site reports it again
            # in its next cycle, and erases it then.
            log.info("left a room of %s to erase after its region move", tenant.value)
            return 0
        return int(erased)


def _staying(standing: TenantStanding | None) -> None:
    """Erasure reaches the rooms of any site this region holds, served or not, except one
    whose rows are being copied to another region."""
    if standing is not None and standing.moving_to is not None:
        raise AccessRefused("the site is moving to another region")
