"""A job lock shared by every process on the database: a session advisory lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agiletoolbox.adapters.postgres.pool import ConnectionPool

# The first key of the two-key advisory lock: this product's jobs (migrations use another).
JOB_LOCK_CLASS = 0x5A6E


class PostgresJobLock:
    """Grants a named job to one process at a time for as long as its block runs."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[bool]:
        """Hold `job` on a pooled connection for the block, when no other process does."""
        async with self._pool.acquire() as connection:
            held = await connection.fetchval(
                "SELECT pg_try_advisory_lock($1, hashtext($2))", JOB_LOCK_CLASS, job
            )
            try:
                yield bool(held)
            finally:
                if held:
                    await connection.execute(
                        "SELECT pg_advisory_unlock($1, hashtext($2))", JOB_LOCK_CLASS, job
                    )
