"""PostgreSQL faults: killed backends, a killed listener, racing writers."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import asyncpg
import pytest

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.memory import MemoryJira
from agiletoolbox.adapters.postgres import (
    KeyRing,
    PostgresDatabase,
    PostgresEventBus,
    StorageUnavailable,
    open_pool,
)
from agiletoolbox.adapters.postgres.listener import APPLICATION_NAME
from agiletoolbox.adapters.postgres.pool import ConnectionPool
from agiletoolbox.domain.config import Role
from agiletoolbox.domain.ids import AccountId
from agiletoolbox.ports.events import ResyncAll, RoomChange, RoomSignal
from agiletoolbox.services.rooms import RoomService
from tests.contract.kit import DEMO_1, OTHER_SITE, SITE, add, install, room, tenant

pytestmark = pytest.mark.postgres


async def _terminate(database_url: str, state: str | None = None, app: str | None = None) -> int:
    """Terminate the test database's backends in `state` (or of `app`); returns how many."""
    admin = await asyncpg.connect(database_url)
    try:
        killed = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR application_name = $2)",
            state,
            app,
        )
        return len(killed)
    finally:
        await admin.close()


async def test_a_killed_connection_fails_its_call_and_the_next_succeeds(
    database: PostgresDatabase, database_url: str
) -> None:
    uow = database.unit_of_work
    await install(uow)

    async def read_twice_with_a_kill_between() -> None:
        async with uow() as work:
            # A write begins the transaction: this unit of work's connection is then the
            # one idle inside a transaction.
            await work.tenants.save(tenant(OTHER_SITE))
            assert await _terminate(database_url, state="idle in transaction") == 1
            await work.tenants.get(SITE)

    with pytest.raises(StorageUnavailable):
        await read_twice_with_a_kill_between()
    async with uow() as work:
        assert await work.tenants.get(SITE) == tenant()


async def test_idle_connections_killed_under_the_pool_are_replaced(
    database: PostgresDatabase, database_url: str
) -> None:
    uow = database.unit_of_work
    await install(uow)
    await _terminate(database_url)
    for _ in range(3):
        async with uow() as work:
            assert await work.tenants.get(SITE) is not None


async def test_a_killed_listener_reconnects_and_asks_for_a_resync(
    database: PostgresDatabase, database_url: str
) -> None:
    uow = database.unit_of_work
    await install(uow)
    opened = room()
    await add(uow, opened)
    signals: asyncio.Queue[RoomSignal] = asyncio.Queue()
    async with PostgresEventBus(database_url, probe_interval=0.2, backoff_initial=0.05) as bus:
        bus.subscribe(signals.put_nowait)
        assert await _terminate(database_url, app=APPLICATION_NAME) == 1
        assert await asyncio.wait_for(signals.get(), 10) == ResyncAll()
        assert bus.connections == 2
        async with uow() as work:
            current = await work.rooms.get(SITE, opened.id)
            current.vote(AccountId("557058:ana"), "3", current.created_at)
            await work.rooms.save(current)
            await work.commit()
        change = await asyncio.wait_for(signals.get(), 10)
        assert change == RoomChange(SITE, opened.id, current.version)


async def test_a_listener_whose_peer_stops_answering_is_replaced(database_url: str) -> None:
    signals: list[RoomSignal] = []
    async with PostgresEventBus(
        database_url, probe_interval=0.1, probe_timeout=0.3, backoff_initial=0.05
    ) as bus:
        bus.subscribe(signals.append)
        admin = await asyncpg.connect(database_url)
        try:
            pid = await admin.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
                "AND datname = current_database()",
                APPLICATION_NAME,
            )
            if not await asyncio.to_thread(Path(f"/proc/{pid}").exists):
                pytest.skip("the database server runs on another machine")
            # A frozen backend keeps its socket open but never answers: only the probe's
            # deadline can tell.
            os.kill(pid, signal.SIGSTOP)
            try:
                for _ in range(100):
                    if ResyncAll() in signals:
                        break
                    await asyncio.sleep(0.05)
            finally:
                os.kill(pid, signal.SIGCONT)
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        assert ResyncAll() in signals
        assert bus.listening


async def _service(pool: ConnectionPool, keys: KeyRing) -> RoomService:
    bus = PostgresEventBus("unused")  # publish is a no-op; never started
    return RoomService(
        PostgresDatabase(pool, keys).unit_of_work,
        bus,
        SystemClock(),
        MemoryJira(all_issues_exist=True),
    )


async def test_racing_votes_from_two_processes_all_land(
    database: PostgresDatabase, database_url: str, keys: KeyRing
) -> None:
    uow = database.unit_of_work
    await install(uow)
    voters = [AccountId(f"557058:voter-{n}") for n in range(8)]
    opened = room()
    for voter in voters:
        opened.join(voter, Role.VOTER, opened.created_at)
    opened.drain_events()
    await add(uow, opened)
    async with (
        open_pool(database_url, min_size=4, max_size=4) as first,
        open_pool(database_url, min_size=4, max_size=4) as second,
    ):
        services = [await _service(first, keys), await _service(second, keys)]
        cards = ["1", "2", "3", "5", "8", "13", "21", "34"]
        await asyncio.gather(
            *(
                services[n % 2].vote(SITE, voter, opened.id, card)
                for n, (voter, card) in enumerate(zip(voters, cards, strict=True))
            )
        )
    async with uow() as work:
        stored = await work.rooms.find_by_issue(SITE, DEMO_1)
    assert stored is not None
    assert stored.votes == dict(zip(voters, cards, strict=True))
    assert stored.version == opened.version + len(voters)
