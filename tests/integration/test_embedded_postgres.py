"""The embedded PostgreSQL: started when no URL is set, data kept, stopped with the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from agiletoolbox.adapters.postgres import connect, database_url, open_database
from agiletoolbox.cli import main
from agiletoolbox.settings import Settings
from tests.integration.database import create_database, drop_database

pytestmark = pytest.mark.postgres


def test_migrate_runs_on_the_embedded_database_and_keeps_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AGILETOOLBOX_DATABASE_URL", raising=False)
    monkeypatch.setenv("AGILETOOLBOX_DATA_DIR", str(tmp_path))
    assert main(["migrate"]) == 0
    assert "applied 0001_initial" in capsys.readouterr().out
    pgdata = tmp_path / "postgres"
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists(), "stopped with the command"
    assert main(["migrate"]) == 0
    assert "applied" not in capsys.readouterr().out


async def test_the_embedded_url_serves_the_adapter(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    async with database_url(settings) as url:
        connection = await connect(url)
        try:
            assert await connection.fetchval("SELECT $1::jsonb", {"a": 1}) == {"a": 1}
        finally:
            await connection.close()
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()


async def test_the_embedded_server_carries_postgresqls_security_fixes(tmp_path: Path) -> None:
    """PostgreSQL 16.14 or newer within 16 (pgserver 0.1.4 ran 16.2, two years behind)."""
    async with database_url(Settings(data_dir=tmp_path)) as url:
        connection = await connect(url)
        try:
            number = int(await connection.fetchval("SHOW server_version_num"))
        finally:
            await connection.close()
    assert 160014 <= number < 170000, number


@pytest.mark.parametrize("made_by", ["15", "18"])
async def test_a_data_folder_of_another_major_version_is_refused_with_what_to_do(
    tmp_path: Path, made_by: str
) -> None:
    from agiletoolbox.adapters.postgres.embedded import EmbeddedUnavailable

    folder = tmp_path / "postgres"
    folder.mkdir()
    (folder / "PG_VERSION").write_text(f"{made_by}\n")
    with pytest.raises(EmbeddedUnavailable, match=f"made by PostgreSQL {made_by}.*pg_dump"):
        async with database_url(Settings(data_dir=tmp_path)):
            pass
    assert sorted(p.name for p in folder.iterdir()) == ["PG_VERSION"], "left as it was"


async def test_a_configured_url_is_used_as_it_is(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://db.example/x", data_dir=tmp_path)
    async with database_url(settings) as url:
        assert url == "postgresql://db.example/x"
    assert not (tmp_path / "postgres").exists()


async def test_the_database_resource_migrates_and_serves(
    tmp_path: Path, postgres_server_url: str
) -> None:
    url = await create_database(postgres_server_url, migrated=False)
    try:
        settings = Settings(database_url=url, data_dir=tmp_path)
        async with open_database(settings) as database:
            assert database.url == url
            assert await database.ready()
            assert await database.require_schema() >= 1
        assert (tmp_path / "secret.key").exists()
    finally:
        await drop_database(postgres_server_url, url)
