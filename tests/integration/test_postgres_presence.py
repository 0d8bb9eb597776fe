"""Presence leases shared by processes on one database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from agiletoolbox.adapters.postgres import PostgresDatabase
from agiletoolbox.adapters.postgres.presence import PostgresPresence
from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.room import Room
from tests.contract.kit import ANA, BEN, SITE, add, install, room

pytestmark = pytest.mark.postgres


@pytest.fixture
async def opened(database: PostgresDatabase) -> Room:
    """A stored room of the installed site: leases belong to a room's participants."""
    await install(database.unit_of_work)
    stored = room()
    await add(database.unit_of_work, stored)
    return stored


async def test_a_person_is_offline_only_when_no_process_holds_a_socket(
    database: PostgresDatabase, opened: Room
) -> None:
    first, second = PostgresPresence(database.pool), PostgresPresence(database.pool)
    await first.arrive(SITE, opened.id, ANA)
    await second.arrive(SITE, opened.id, ANA)
    await first.arrive(SITE, opened.id, BEN)

    assert await first.leave(SITE, opened.id, ANA) is False, "the second process holds one"
    assert await second.leave(SITE, opened.id, ANA) is True
    assert await first.leave(SITE, opened.id, BEN) is True
    assert await first.leave(SITE, opened.id, BEN) is True  # a repeat changes nothing


async def test_a_dead_process_leaves_leases_that_run_out(
    database: PostgresDatabase, opened: Room
) -> None:
    dead = PostgresPresence(database.pool, lease=timedelta(milliseconds=50))
    alive = PostgresPresence(database.pool, lease=timedelta(milliseconds=50))
    await dead.arrive(SITE, opened.id, ANA)
    await dead.arrive(SITE, opened.id, BEN)
    await alive.arrive(SITE, opened.id, BEN)
    await asyncio.sleep(0.03)
    await alive.renew()
    await asyncio.sleep(0.03)

    left = await alive.expired()

    assert left == [(SITE, opened.id, ANA)], "Ben still has a live lease"
    assert await alive.expired() == []


async def test_only_participants_hold_leases_and_they_go_with_the_room(
    database: PostgresDatabase, opened: Room
) -> None:
    board = PostgresPresence(database.pool)
    await board.arrive(SITE, opened.id, AccountId("557058:stranger"))
    await board.arrive(SITE, opened.id, ANA)
    async with database.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM presence_leases") == 1
    async with database.unit_of_work() as uow:
        await uow.rooms.delete(SITE, opened.id)
        await uow.commit()
    async with database.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM presence_leases") == 0


async def test_renewing_writes_one_row_however_many_leases(
    database: PostgresDatabase, opened: Room
) -> None:
    # Renewing every lease a process held took a write of each (a thousand rows every 30 s
    # at a thousand sockets), and votes committing meanwhile waited on it.
    board = PostgresPresence(database.pool)
    for person in (ANA, BEN):
        await board.arrive(SITE, opened.id, person)

    async def versions() -> list[str]:
        async with database.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT xmin::text AS v FROM presence_leases ORDER BY account_id"
            )
        return [row["v"] for row in rows]

    before = await versions()
    await board.renew()
    assert await versions() == before, "no lease row is written again"
    async with database.pool.acquire() as connection:
        processes = await connection.fetch("SELECT process_id FROM presence_processes")
    assert [row["process_id"] for row in processes] == [board.process_id], "one per site"


async def test_a_lease_from_before_process_rows_lives_until_its_own_expiry(
    database: PostgresDatabase, opened: Room
) -> None:
    # A process of the version before migration 0014 (during a rolling upgrade) writes
    # leases with their own expiry and no process row.
    board = PostgresPresence(database.pool)
    async with database.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO presence_leases VALUES ($1, $2, $3, 'earlier', now() + $4::interval)",
            SITE.value,
            opened.id.value,
            ANA.value,
            timedelta(milliseconds=80),
        )
    await board.arrive(SITE, opened.id, ANA)
    assert await board.expired() == []
    assert await board.leave(SITE, opened.id, ANA) is False, "the earlier process holds one"
    await asyncio.sleep(0.1)
    assert await board.expired() == [(SITE, opened.id, ANA)]
