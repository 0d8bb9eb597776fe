"""Refinement sessions in memory, staged until the unit of work commits."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from agiletoolbox.domain.errors import ConcurrentChange, NotFound
from agiletoolbox.domain.ids import AccountId, ProjectKey, RoomId, SessionId, TenantKey
from agiletoolbox.domain.session import RefinementSession

if TYPE_CHECKING:
    from agiletoolbox.adapters.memory.store import MemoryStore

SessionKey = tuple[TenantKey, SessionId]


class MemorySessionRepository:
    """Sessions, with changes applied at commit and saves checked against the version read."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._staged: dict[SessionKey, RefinementSession | None] = {}
        self._loaded: dict[SessionKey, int | None] = {}

    def _current(self) -> dict[SessionKey, RefinementSession]:
        current = dict(self._store.sessions)
        for key, session in self._staged.items():
            if session is None:
                current.pop(key, None)
            else:
                current[key] = session
        return current

    async def get(self, tenant: TenantKey, session_id: SessionId) -> RefinementSession:
        """A copy of the session; `NotFound` when there is none."""
        key = (tenant, session_id)
        session = self._current().get(key)
        if session is None:
            raise NotFound("no such session")
        if key not in self._staged:
            self._loaded.setdefault(key, session.version)
        found = copy.deepcopy(session)
        found.pending_events = []
        return found

    async def add(self, session: RefinementSession) -> None:
        """Stage a new session."""
        key = (session.tenant, session.id)
        self._loaded[key] = None
        self._staged[key] = copy.deepcopy(session)

    async def save(self, session: RefinementSession) -> None:
        """Stage a changed session read in this unit of work."""
        key = (session.tenant, session.id)
        if key not in self._loaded:
            raise ConcurrentChange("save a session read in the same unit of work")
        self._staged[key] = copy.deepcopy(session)

    async def delete(self, tenant: TenantKey, session_id: SessionId) -> None:
        """Stage the deletion (of the version read here, when it was read)."""
        self._staged[(tenant, session_id)] = None

    async def for_project(
        self, tenant: TenantKey, project: ProjectKey
    ) -> Sequence[RefinementSession]:
        """The project's sessions, newest first."""
        found = [
            copy.deepcopy(s)
            for (owner, _), s in self._current().items()
            if owner == tenant and s.project == project
        ]
        return sorted(found, key=lambda s: (s.created_at, s.id.value), reverse=True)

    async def count_for_project(self, tenant: TenantKey, project: ProjectKey) -> int:
        """How many sessions the project keeps."""
        return sum(
            1
            for (owner, _), s in self._current().items()
            if owner == tenant and s.project == project
        )

    async def following(self, tenant: TenantKey, room_id: RoomId) -> Sequence[SessionId]:
        """The sessions whose queue holds the room."""
        return sorted(
            (
                session_id
                for (owner, session_id), s in self._current().items()
                if owner == tenant and any(e.room_id == room_id for e in s.queue)
            ),
            key=lambda session_id: session_id.value,
        )

    async def with_account(self, account: AccountId) -> Sequence[tuple[TenantKey, SessionId]]:
        """Sessions the account owns."""
        return sorted(key for key, s in self._current().items() if s.mentions(account))

    async def idle_before(self, cutoff: datetime) -> Sequence[tuple[TenantKey, SessionId]]:
        """Sessions not persistent whose last change was before `cutoff`."""
        return sorted(
            key
            for key, s in self._current().items()
            if not s.config.persistent and s.updated_at < cutoff
        )

    async def due_for_review(self, now: datetime) -> Sequence[tuple[TenantKey, SessionId]]:
        """Async sessions still estimated whose deadline has come."""
        return sorted(key for key, s in self._current().items() if s.due_for_review(now))

    def check(self) -> None:
        """Refuse the commit when a session changed since it was read here."""
        for key, session in self._staged.items():
            stored = self._store.sessions.get(key)
            read = self._loaded.get(key)
            if session is not None and read is None and key in self._loaded and stored:
                raise ConcurrentChange("the session exists already")
            if read is not None and (stored is None or stored.version != read):
                raise ConcurrentChange("the session changed meanwhile")

    def apply(self) -> None:
        """Write the staged sessions (of tenants that still exist)."""
        for key, session in self._staged.items():
            if session is None:
                self._store.sessions.pop(key, None)
            elif key[0] in self._store.tenants:
                self._store.sessions[key] = session
