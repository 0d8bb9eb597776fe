"""Presence leases shared by processes on one database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from agiletoolbox.adapters.postgres import PostgresDatabase
from agiletoolbox.adapters.postgres.presence import PostgresPresence
from agiletoolbox.domain.ids import AccountId
from tests.contract.kit import ANA, BEN, SITE, add, install, room

pytestmark = pytest.mark.postgres


async def test_a_person_is_offline_only_when_no_process_holds_a_socket(
    database: PostgresDatabase,
) -> None:
    await install(database.unit_of_work)
    opened = room()
    await add(database.unit_of_work, opened)
    first, second = PostgresPresence(database.pool), PostgresPresence(database.pool)
    await first.arrive(SITE, opened.id, ANA)
    await second.arrive(SITE, opened.id, ANA)
    await first.arrive(SITE, opened.id, BEN)

    assert await first.leave(SITE, opened.id, ANA) is False, "the second process holds one"
    assert await second.leave(SITE, opened.id, ANA) is True
    assert await first.leave(SITE, opened.id, BEN) is True
    assert await first.leave(SITE, opened.id, BEN) is True  # a repeat changes nothing


async def test_a_dead_process_leaves_leases_that_run_out(database: PostgresDatabase) -> None:
    await install(database.unit_of_work)
    opened = room()
    await add(database.unit_of_work, opened)
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
    database: PostgresDatabase,
) -> None:
    await install(database.unit_of_work)
    opened = room()
    await add(database.unit_of_work, opened)
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
