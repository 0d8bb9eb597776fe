"""Migrations and the operators' storage commands."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from agiletoolbox.adapters.postgres import (
    KeyRing,
    PostgresDatabase,
    SchemaTooNew,
    SchemaTooOld,
    connect,
    latest_version,
    migrate,
    open_pool,
    require_current,
)
from agiletoolbox.adapters.postgres.schema import known_migrations
from agiletoolbox.adapters.postgres.scratch import scratch_database
from agiletoolbox.cli import main
from agiletoolbox.ports.forge import SystemToken
from tests.contract.kit import SITE, T0, install, tenant
from tests.integration.database import create_database, drop_database

FORGE_TOKEN = SystemToken(
    tenant=SITE,
    installation_id="ari:cloud:ecosystem::installation/0b0c4a5e-1f2d-4c3b-9a8e-7d6f5e4c3b2a",
    api_base_url="https://api.atlassian.com/ex/jira/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    token="system-token",
    expires_at=T0 + timedelta(days=3650),
)

pytestmark = pytest.mark.postgres


@pytest.fixture
async def empty_database(postgres_server_url: str) -> AsyncIterator[str]:
    """A database of its own that was never migrated."""
    url = await create_database(postgres_server_url, migrated=False)
    try:
        yield url
    finally:
        await drop_database(postgres_server_url, url)


async def test_migrating_twice_applies_nothing_the_second_time(empty_database: str) -> None:
    connection = await connect(empty_database)
    try:
        with pytest.raises(SchemaTooOld):
            await require_current(connection)
        first = await migrate(connection)
        assert [m.version for m in first] == list(range(1, latest_version() + 1))
        assert await migrate(connection) == []
        assert await require_current(connection) == latest_version()
        rows = await connection.fetch("SELECT version, name FROM schema_version ORDER BY 1")
        assert [(r["version"], r["name"]) for r in rows] == [
            (m.version, m.name) for m in known_migrations()
        ]
    finally:
        await connection.close()


async def test_two_processes_migrating_at_once_apply_each_migration_once(
    empty_database: str,
) -> None:
    connections = [await connect(empty_database) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(migrate(c) for c in connections))
    finally:
        for connection in connections:
            await connection.close()
    assert sorted(len(each) for each in applied) == [0, 0, latest_version()]


async def test_a_newer_schema_is_refused(empty_database: str) -> None:
    connection = await connect(empty_database)
    try:
        await migrate(connection)
        await connection.execute(
            "INSERT INTO schema_version (version, name) VALUES ($1, 'from_the_future')",
            latest_version() + 1,
        )
        with pytest.raises(SchemaTooNew, match="newer than this app knows"):
            await require_current(connection)
        with pytest.raises(SchemaTooNew):
            await migrate(connection)
    finally:
        await connection.close()
    async with open_pool(empty_database, min_size=1, max_size=1) as pool:
        with pytest.raises(SchemaTooNew):
            await PostgresDatabase(pool, KeyRing.generate()).require_schema()


def test_the_migrate_command(
    empty_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGILETOOLBOX_DATABASE_URL", empty_database)
    assert main(["migrate"]) == 0
    assert "applied 0001_initial" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "applied" not in capsys.readouterr().out


def test_migrate_reports_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGILETOOLBOX_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["migrate"]) == 1
    assert "not available" in capsys.readouterr().err


def test_rotate_secret_key_reencrypts_under_the_current_key(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = KeyRing.generate(), KeyRing.generate()

    async def store() -> None:
        async with open_pool(database_url, min_size=1, max_size=1) as pool:
            async with pool.acquire() as connection:
                await connection.execute("TRUNCATE tenants CASCADE")
            database = PostgresDatabase(pool, old)
            await install(database.unit_of_work, tenant())
            async with database.unit_of_work() as work:
                await work.system_tokens.save(FORGE_TOKEN)
                await work.commit()

    asyncio.run(store())
    # The old key keeps its id (here derived from the key, as for a bare key).
    both = f"new:{_encoded(new)},{_encoded(old)}"
    monkeypatch.setenv("AGILETOOLBOX_DATABASE_URL", database_url)
    monkeypatch.setenv("AGILETOOLBOX_SECRET_KEY", both)
    assert main(["rotate-secret-key"]) == 0
    assert "re-encrypted 2 secret(s) under key new" in capsys.readouterr().out

    async def read_with_the_new_key_only() -> tuple[str, str]:
        only_new = KeyRing.parse(f"new:{_encoded(new)}")
        async with (
            open_pool(database_url, min_size=1, max_size=1) as pool,
            PostgresDatabase(pool, only_new).unit_of_work() as work,
        ):
            stored = await work.tenants.get(SITE)
            token = await work.system_tokens.get(SITE)
        assert stored is not None
        assert token is not None
        return stored.shared_secret, token.token

    assert asyncio.run(read_with_the_new_key_only()) == (tenant().shared_secret, "system-token")
    assert main(["rotate-secret-key"]) == 0
    assert "re-encrypted 0 secret(s)" in capsys.readouterr().out


def _encoded(ring: KeyRing) -> str:
    return base64.b64encode(ring.keys[ring.current]).decode()


async def test_every_table_is_keyed_by_tenant_first(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT c.relname AS table, a.attname AS first "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE i.indisprimary AND n.nspname = 'public' AND c.relname <> 'schema_version'"
        )
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'schema_version'"
        )
    finally:
        await connection.close()
    assert len(tables) >= 9
    assert {row["table"] for row in rows} == {row["tablename"] for row in tables}
    assert {row["first"] for row in rows} == {"tenant_key"}


async def test_custom_deck_names_are_forgotten_by_the_migration(empty_database: str) -> None:
    """Decks once carried a free-text name (it could hold a person's name): migration
    0009 names every deck that is not a standard one `custom`, wherever it is stored."""
    from agiletoolbox.domain.config import RoomConfig
    from agiletoolbox.domain.deck import Deck
    from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
    from agiletoolbox.domain.ids import IssueTypeId, ProjectKey
    from tests.contract.kit import ANA, at, room

    connection = await connect(empty_database)
    try:
        await connection.execute("CREATE TABLE schema_version (version int PRIMARY KEY, name text)")
        for migration in known_migrations()[:8]:
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_version VALUES ($1, $2)", migration.version, migration.name
            )
    finally:
        await connection.close()
    config = RoomConfig(deck=Deck.custom([("S", 1), ("M", 2), ("L", 3)]))
    stored = room(config=config)
    stored.vote(ANA, "M", at(2))
    stored.reveal(ANA, at(3))
    stored.reset(ANA, at(4))
    key = DefaultsKey(SITE, ANA, ProjectKey("DEMO"), IssueTypeId("10001"))
    # Today's code writes today's room row: the schema of migration 8 is lent the columns
    # later migrations add to rooms for the write, and they go again before migrating.
    later = ("estimate_comment text", "estimate_comment_at timestamptz")
    async with open_pool(empty_database, min_size=1, max_size=1) as pool:
        database = PostgresDatabase(pool, KeyRing.generate())
        await install(database.unit_of_work, tenant())
        async with pool.acquire() as connection:
            for column in later:
                await connection.execute(f"ALTER TABLE rooms ADD COLUMN {column}")
        async with database.unit_of_work() as work:
            await work.rooms.add(stored)
            await work.defaults.save(SavedDefaults(key, config, at(5)))
            await work.commit()
        async with pool.acquire() as connection:
            for column in later:
                await connection.execute(f"ALTER TABLE rooms DROP COLUMN {column.split()[0]}")
            named = "'\"Jane Roe''s deck\"'"
            await connection.execute(
                f"UPDATE rooms SET config = jsonb_set(config, '{{deck,name}}', {named})"  # noqa: S608
            )
            await connection.execute(
                f"UPDATE room_defaults SET config = jsonb_set(config, '{{deck,name}}', {named})"  # noqa: S608
            )
            await connection.execute(
                f"UPDATE rounds SET deck = jsonb_set(deck, '{{name}}', {named})"  # noqa: S608
            )
            assert 9 in [m.version for m in await migrate(connection)]
            for table in ("rooms", "room_defaults", "rounds"):
                left = await connection.fetchval(
                    f"SELECT count(*) FROM {table} WHERE {table}::text LIKE '%Jane%'"  # noqa: S608
                )
                assert left == 0, table
        async with database.unit_of_work() as work:
            loaded = await work.rooms.get(SITE, stored.id)
            defaults = await work.defaults.get(key)
    assert loaded is not None
    assert loaded.config.deck.name == "custom"
    assert [record.deck.name for record in loaded.history] == ["custom"]
    assert defaults is not None
    assert defaults.config.deck.name == "custom"


async def test_a_scratch_database_is_migrated_and_dropped_after_its_block() -> None:
    async with scratch_database() as url:
        connection = await asyncpg.connect(url)
        try:
            applied = await connection.fetchval("SELECT max(version) FROM schema_version")
        finally:
            await connection.close()
        assert applied == latest_version()
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(url)
