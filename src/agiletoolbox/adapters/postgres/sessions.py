"""Refinement sessions in PostgreSQL: a `sessions` row and its queue in `session_issues`.

A save replaces the row only from the version read in this unit of work (`ConcurrentChange`
otherwise) and rewrites the queue in one statement each way: delete, then insert the
queue's rows from arrays (a data-modifying CTE would not free the keys for the insert).
Every write notifies `(tenant, session, version)` on the rooms' channel in its transaction,
so every process's live pages hear of it once it commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from agiletoolbox.adapters.postgres.room_sql import CHANNEL
from agiletoolbox.adapters.postgres.rows import config_from_json, config_to_json
from agiletoolbox.adapters.postgres.session import Session
from agiletoolbox.domain.errors import ConcurrentChange, NotFound
from agiletoolbox.domain.ids import AccountId, IssueKey, ProjectKey, RoomId, SessionId, TenantKey
from agiletoolbox.domain.session import (
    IssueState,
    QueuedIssue,
    RefinementSession,
    SessionMode,
    SessionState,
)
from agiletoolbox.domain.session_review import ReviewMark

_COLUMNS = (
    "s.tenant_key, s.session_id, s.project_key, s.owner, s.mode, s.state, s.config, "
    "s.current_issue, s.version, s.created_at, s.updated_at, s.deadline, s.reviewed_at, "
    "coalesce(array(SELECT issue_key FROM session_issues q WHERE q.tenant_key = s.tenant_key "
    "AND q.session_id = s.session_id ORDER BY position), '{}') AS q_keys, "
    "coalesce(array(SELECT state FROM session_issues q WHERE q.tenant_key = s.tenant_key "
    "AND q.session_id = s.session_id ORDER BY position), '{}') AS q_states, "
    "coalesce(array(SELECT room_id FROM session_issues q WHERE q.tenant_key = s.tenant_key "
    "AND q.session_id = s.session_id ORDER BY position), '{}') AS q_rooms, "
    "coalesce(array(SELECT opened_room FROM session_issues q WHERE q.tenant_key = s.tenant_key "
    "AND q.session_id = s.session_id ORDER BY position), '{}') AS q_opened, "
    "coalesce(array(SELECT review_votes FROM session_issues q WHERE q.tenant_key = s.tenant_key "
    "AND q.session_id = s.session_id ORDER BY position), '{}') AS q_review_votes, "
    "coalesce(array(SELECT review_agreement FROM session_issues q "
    "WHERE q.tenant_key = s.tenant_key AND q.session_id = s.session_id ORDER BY position), "
    "'{}') AS q_review_agreement"
)
_INSERT = """
INSERT INTO sessions (tenant_key, session_id, project_key, owner, mode, state, config,
                      current_issue, version, created_at, updated_at, deadline, reviewed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""
_UPDATE = """
UPDATE sessions SET owner = $3, mode = $4, state = $5, config = $6, current_issue = $7,
                    version = $8, updated_at = $9, deadline = $11, reviewed_at = $12
WHERE tenant_key = $1 AND session_id = $2 AND version = $10
RETURNING 1
"""
_NOTIFY = (
    f"SELECT pg_notify('{CHANNEL}', "
    "json_build_object('t', $1::text, 's', $2::text, 'v', $3::bigint)::text)"
)
_FORGET_QUEUE = "DELETE FROM session_issues WHERE tenant_key = $1 AND session_id = $2"
_QUEUE = """
INSERT INTO session_issues
    (tenant_key, session_id, position, issue_key, state, room_id, opened_room, review_votes,
     review_agreement)
SELECT $1, $2, q.position - 1, q.issue_key, q.state, q.room_id, q.opened_room, q.votes,
       q.agreement
FROM unnest($3::text[], $4::text[], $5::text[], $6::boolean[], $7::integer[],
            $8::double precision[]) WITH ORDINALITY
     AS q(issue_key, state, room_id, opened_room, votes, agreement, position)
"""


def _session(row: asyncpg.Record) -> RefinementSession:
    owner = row["owner"]
    current = row["current_issue"]
    queue = [
        QueuedIssue(
            IssueKey(key),
            IssueState(state),
            None if room is None else RoomId(room),
            opened,
            None if votes is None else ReviewMark(votes, agreement),
        )
        for key, state, room, opened, votes, agreement in zip(
            row["q_keys"],
            row["q_states"],
            row["q_rooms"],
            row["q_opened"],
            row["q_review_votes"],
            row["q_review_agreement"],
            strict=True,
        )
    ]
    return RefinementSession(
        tenant=TenantKey(row["tenant_key"]),
        id=SessionId(row["session_id"]),
        project=ProjectKey(row["project_key"]),
        owner=None if owner is None else AccountId(owner),
        config=config_from_json(row["config"]),
        mode=SessionMode(row["mode"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        queue=queue,
        current=None if current is None else IssueKey(current),
        state=SessionState(row["state"]),
        version=row["version"],
        deadline=row["deadline"],
        reviewed_at=row["reviewed_at"],
    )


class PostgresSessionRepository:
    """Sessions and their queues."""

    def __init__(self, connection: Session) -> None:
        self._connection = connection
        self._loaded: dict[tuple[TenantKey, SessionId], int] = {}

    async def get(self, tenant: TenantKey, session_id: SessionId) -> RefinementSession:
        """The session; `NotFound` when there is none."""
        row = await self._connection.fetchrow(
            f"SELECT {_COLUMNS} FROM sessions s "  # noqa: S608 - built from constants
            "WHERE s.tenant_key = $1 AND s.session_id = $2",
            tenant.value,
            session_id.value,
        )
        if row is None:
            raise NotFound("no such session")
        session = _session(row)
        self._loaded[(tenant, session_id)] = session.version
        return session

    async def add(self, session: RefinementSession) -> None:
        """Insert the session and its queue."""
        await self._connection.write(
            _INSERT,
            session.tenant.value,
            session.id.value,
            session.project.value,
            None if session.owner is None else session.owner.value,
            session.mode.value,
            session.state.value,
            config_to_json(session.config),
            None if session.current is None else session.current.value,
            session.version,
            session.created_at,
            session.updated_at,
            session.deadline,
            session.reviewed_at,
        )
        await self._write_queue(session)
        self._loaded[(session.tenant, session.id)] = session.version

    async def save(self, session: RefinementSession) -> None:
        """Update from the version read here; `ConcurrentChange` when it moved on."""
        key = (session.tenant, session.id)
        read = self._loaded.get(key)
        if read is None:
            raise ConcurrentChange("save a session read in the same unit of work")
        if read == session.version:
            return
        written = await self._connection.write(
            _UPDATE,
            session.tenant.value,
            session.id.value,
            None if session.owner is None else session.owner.value,
            session.mode.value,
            session.state.value,
            config_to_json(session.config),
            None if session.current is None else session.current.value,
            session.version,
            session.updated_at,
            read,
            session.deadline,
            session.reviewed_at,
        )
        if not written:
            raise ConcurrentChange("the session changed meanwhile")
        await self._write_queue(session)
        self._loaded[key] = session.version

    async def _write_queue(self, session: RefinementSession) -> None:
        await self._connection.write(_FORGET_QUEUE, session.tenant.value, session.id.value)
        await self._connection.write(
            _QUEUE,
            session.tenant.value,
            session.id.value,
            [entry.issue_key.value for entry in session.queue],
            [entry.state.value for entry in session.queue],
            [None if entry.room_id is None else entry.room_id.value for entry in session.queue],
            [entry.opened_room for entry in session.queue],
            [None if entry.review is None else entry.review.votes for entry in session.queue],
            [None if entry.review is None else entry.review.agreement for entry in session.queue],
        )
        await self._notify(session.tenant, session.id, session.version)

    async def _notify(self, tenant: TenantKey, session_id: SessionId, version: int) -> None:
        await self._connection.write(_NOTIFY, tenant.value, session_id.value, version)

    async def delete(self, tenant: TenantKey, session_id: SessionId) -> None:
        """Delete the session (its queue goes with it); one read here is deleted only at
        the version read (`ConcurrentChange` when it moved on)."""
        read = self._loaded.pop((tenant, session_id), None)
        deleted = await self._connection.write(
            "DELETE FROM sessions WHERE tenant_key = $1 AND session_id = $2 "
            "AND ($3::bigint IS NULL OR version = $3) RETURNING version",
            tenant.value,
            session_id.value,
            read,
        )
        if read is not None and not deleted:
            raise ConcurrentChange("the session changed meanwhile")
        if deleted:
            # A removed session's last signal is one past the stored version, as the domain
            # counts its removal.
            await self._notify(tenant, session_id, int(deleted[0]["version"]) + 1)

    async def idle_before(self, cutoff: datetime) -> Sequence[tuple[TenantKey, SessionId]]:
        """Sessions not persistent whose last change was before `cutoff`."""
        rows = await self._connection.fetch(
            "SELECT tenant_key, session_id FROM sessions "
            "WHERE updated_at < $1 AND persistent IS NOT TRUE ORDER BY tenant_key, session_id",
            cutoff,
        )
        return [(TenantKey(r["tenant_key"]), SessionId(r["session_id"])) for r in rows]

    async def due_for_review(self, now: datetime) -> Sequence[tuple[TenantKey, SessionId]]:
        """Async sessions still estimated whose deadline came (index `sessions_deadline`)."""
        rows = await self._connection.fetch(
            "SELECT tenant_key, session_id FROM sessions WHERE mode = 'async' "
            "AND state = 'running' AND deadline IS NOT NULL AND deadline <= $1 "
            "ORDER BY deadline, tenant_key, session_id",
            now,
        )
        return [(TenantKey(r["tenant_key"]), SessionId(r["session_id"])) for r in rows]

    async def for_project(
        self, tenant: TenantKey, project: ProjectKey
    ) -> Sequence[RefinementSession]:
        """The project's sessions, newest first."""
        rows = await self._connection.fetch(
            f"SELECT {_COLUMNS} FROM sessions s "  # noqa: S608 - built from constants
            "WHERE s.tenant_key = $1 AND s.project_key = $2 "
            "ORDER BY s.created_at DESC, s.session_id DESC",
            tenant.value,
            project.value,
        )
        return [_session(row) for row in rows]

    async def count_for_project(self, tenant: TenantKey, project: ProjectKey) -> int:
        """How many sessions the project keeps (the index on tenant and project serves it)."""
        row = await self._connection.fetchrow(
            "SELECT count(*) AS n FROM sessions WHERE tenant_key = $1 AND project_key = $2",
            tenant.value,
            project.value,
        )
        return 0 if row is None else int(row["n"])

    async def following(self, tenant: TenantKey, room_id: RoomId) -> Sequence[SessionId]:
        """The sessions whose queue holds the room (index `session_issues_room`)."""
        rows = await self._connection.fetch(
            "SELECT DISTINCT session_id FROM session_issues "
            "WHERE tenant_key = $1 AND room_id = $2 ORDER BY session_id",
            tenant.value,
            room_id.value,
        )
        return [SessionId(r["session_id"]) for r in rows]

    async def with_account(self, account: AccountId) -> Sequence[tuple[TenantKey, SessionId]]:
        """Sessions the account owns."""
        rows = await self._connection.fetch(
            "SELECT tenant_key, session_id FROM sessions WHERE owner = $1 "
            "ORDER BY tenant_key, session_id",
            account.value,
        )
        return [(TenantKey(r["tenant_key"]), SessionId(r["session_id"])) for r in rows]
