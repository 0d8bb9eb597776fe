"""A tenant's whole data set out of one database and into another, exactly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.adapters.postgres.archive import (
    NOT_TRANSFERRED,
    TRANSFER_TABLES,
    PostgresTenantArchive,
)
from agiletoolbox.adapters.postgres.pool import ConnectionPool
from agiletoolbox.domain.config import Role
from agiletoolbox.domain.errors import InvalidState, InvalidValue, NotFound
from agiletoolbox.domain.residency import Arrival
from agiletoolbox.domain.tenant import Region
from agiletoolbox.ports.residency import TenantBundle
from tests.contract.kit import ANA, BEN, CAI, DEMO_2, OTHER_SITE, SITE, T0, add, at, room, tenant
from tests.integration.database import create_database, drop_database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def target(postgres_server_url: str) -> AsyncIterator[PostgresDatabase]:
    url = await create_database(postgres_server_url)
    try:
        async with open_pool(url, min_size=1, max_size=2) as pool:
            yield PostgresDatabase(pool, KeyRing.generate())
    finally:
        await drop_database(postgres_server_url, url)


async def a_full_site(database: PostgresDatabase) -> None:
    """A site with rooms, history, votes, defaults and a report; and another site."""
    uow = database.unit_of_work
    moving = tenant()
    async with uow() as work:
        await work.tenants.save(moving)
        await work.tenants.save(tenant(OTHER_SITE, "another-secret-of-length"))
        await work.commit()
    played = room()
    played.vote(ANA, "3", at(2))
    played.vote(BEN, "5", at(3))
    played.reveal(ANA, at(4))
    played.reset(ANA, at(5))
    played.join(CAI, Role.OBSERVER, at(6))
    played.vote(ANA, "8", at(7))
    played.drain_events()
    await add(uow, played, room(DEMO_2), room(site=OTHER_SITE))
    await stop_serving(database)  # the site stops taking writes, then it is copied


async def stop_serving(database: PostgresDatabase) -> None:
    """Begin the site's move to the EU, as the migration's `start` does."""
    async with database.unit_of_work() as work:
        site = await work.tenants.get(SITE)
        assert site is not None
        site.begin_move(Region.EU, T0)
        await work.tenants.save(site)
        await work.commit()


def arrival(bundle: TenantBundle) -> Arrival:
    return Arrival(
        tenant=bundle.tenant,
        migration_id="57500",
        source=Region.US,
        digest=bundle.digest,
        staged_at=T0,
    )


async def test_every_table_of_tenant_data_is_transferred(pool: ConnectionPool) -> None:
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_key'"
        )
    tables = {row["table_name"] for row in rows}
    assert tables == set(TRANSFER_TABLES) | NOT_TRANSFERRED


async def test_the_copy_reads_back_exactly_and_only_the_site(
    database: PostgresDatabase, target: PostgresDatabase
) -> None:
    await a_full_site(database)
    bundle = await PostgresTenantArchive(database.pool, database.keys).export(SITE)
    assert b"another-secret" not in bundle.data
    into = PostgresTenantArchive(target.pool, target.keys)

    assert await into.stage(bundle, arrival(bundle), Region.EU) == bundle.digest
    assert (await into.export(SITE)).data == bundle.data
    # Staging again (Atlassian retries) replaces the copy with the same.
    assert await into.stage(bundle, arrival(bundle), Region.EU) == bundle.digest

    async with target.unit_of_work() as work:
        copied = await work.rooms.find_by_issue(SITE, room().issue_key)
        stored = await work.tenants.get(SITE)
        assert await work.tenants.get(OTHER_SITE) is None
        assert await work.arrivals.get(SITE) == arrival(bundle)
    async with database.unit_of_work() as work:
        original = await work.rooms.find_by_issue(SITE, room().issue_key)
    assert copied == original
    assert stored is not None
    assert stored.shared_secret == tenant().shared_secret
    async with target.pool.acquire() as connection:
        sealed = await connection.fetchval("SELECT shared_secret FROM tenants")
    assert tenant().shared_secret not in sealed


async def test_a_served_site_is_never_overwritten(
    database: PostgresDatabase, target: PostgresDatabase
) -> None:
    await a_full_site(database)
    bundle = await PostgresTenantArchive(database.pool, database.keys).export(SITE)
    async with target.unit_of_work() as work:
        await work.tenants.save(tenant())
        await work.commit()
    with pytest.raises(InvalidState):
        await PostgresTenantArchive(target.pool, target.keys).stage(
            bundle, arrival(bundle), Region.EU
        )


async def test_a_copy_that_does_not_fit_leaves_nothing(
    database: PostgresDatabase, target: PostgresDatabase
) -> None:
    await a_full_site(database)
    bundle = await PostgresTenantArchive(database.pool, database.keys).export(SITE)
    broken = TenantBundle(SITE, bundle.data.replace(b'"label":"8"', b'"label":null'))
    with pytest.raises((InvalidValue, asyncpg.PostgresError)):
        await PostgresTenantArchive(target.pool, target.keys).stage(
            broken, arrival(broken), Region.EU
        )
    async with target.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM tenants") == 0
        assert await connection.fetchval("SELECT count(*) FROM rooms") == 0
    with pytest.raises(InvalidValue):
        await PostgresTenantArchive(target.pool, target.keys).stage(
            broken, arrival(bundle), Region.EU
        )


async def test_an_unknown_site_has_nothing_to_export(database: PostgresDatabase) -> None:
    with pytest.raises(NotFound):
        await PostgresTenantArchive(database.pool, database.keys).export(SITE)


async def test_a_copy_of_a_site_not_moving_here_is_refused_and_nothing_stored(
    database: PostgresDatabase, target: PostgresDatabase
) -> None:
    await a_full_site(database)  # the site moves from US to EU
    bundle = await PostgresTenantArchive(database.pool, database.keys).export(SITE)
    into = PostgresTenantArchive(target.pool, target.keys)
    with pytest.raises(InvalidState):
        await into.stage(bundle, arrival(bundle), Region.US)  # moving elsewhere
    from_elsewhere = Arrival(SITE, "57500", Region.EU, bundle.digest, T0)
    with pytest.raises(InvalidState):
        await into.stage(bundle, from_elsewhere, Region.EU)  # not from where it says
    async with target.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM tenants") == 0


async def test_the_copy_waits_for_a_room_write_that_began_before_the_move(
    database: PostgresDatabase,
) -> None:
    uow = database.unit_of_work
    async with uow() as work:
        await work.tenants.save(tenant())
        await work.commit()
    await add(uow, room())
    async with database.pool.acquire() as writer:
        # A room write that passed every check just before the site began to move.
        late = writer.transaction()
        await late.start()
        await writer.execute(
            "UPDATE rooms SET version = version + 1 WHERE tenant_key = $1", SITE.value
        )
        await stop_serving(database)
        copying = asyncio.get_running_loop().create_task(
            PostgresTenantArchive(database.pool, database.keys).export(SITE)
        )
        await asyncio.sleep(0.3)
        assert not copying.done()  # the copy waits for the write...
        await late.commit()
    bundle = await copying
    # ...and holds it: nothing committed at the source is missing from the copy.
    (copied,) = json.loads(bundle.data)["tables"]["rooms"]
    assert copied["version"] == room().version + 1
