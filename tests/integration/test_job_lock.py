"""The job lock holds across connections (and so across processes) of one database."""

from __future__ import annotations

import pytest

from agiletoolbox.adapters.postgres.jobs import PostgresJobLock
from agiletoolbox.adapters.postgres.pool import ConnectionPool

pytestmark = pytest.mark.postgres


async def test_one_holder_at_a_time(pool: ConnectionPool) -> None:
    first, second = PostgresJobLock(pool), PostgresJobLock(pool)
    async with first.exclusive("purge") as held:
        assert held
        async with second.exclusive("purge") as also:
            assert not also, "another connection holds the purge"
        async with second.exclusive("report-accounts") as other_job:
            assert other_job, "other jobs are not blocked"
    async with second.exclusive("purge") as after:
        assert after, "the lock goes with the block"
