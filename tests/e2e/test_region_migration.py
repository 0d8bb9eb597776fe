"""Moving a site between the EU and US deployments through Atlassian's migration hooks.

Two deployments, each on its own database, with one peer key between them; the simulator
plays Atlassian's migration service (schedule, start, status polling, commit/rollback).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.tenant import Region
from agiletoolbox.operations import migrate_region
from agiletoolbox.settings import Environment, Settings
from agiletoolbox.simulator import ALICE, BOB, JiraSimulator
from tests.e2e.conftest import Deployment, free_port
from tests.integration.database import create_database, drop_database, every_row_as_text

pytestmark = pytest.mark.postgres

PEER_KEY = secrets.token_urlsafe(32)


class Regions:
    """An EU and a US deployment that know each other."""

    def __init__(self, eu: Deployment, us: Deployment, eu_db: str, us_db: str) -> None:
        self.eu, self.us = eu, us
        self.eu_db, self.us_db = eu_db, us_db


def settings_of(
    region: Region,
    port: int,
    other: tuple[Region, int],
    database_url: str,
    folder: Path,
    jira: JiraSimulator,
    peer_key: str | None,
) -> Settings:
    return Settings(
        env=Environment.TEST,
        port=port,
        base_url=f"http://127.0.0.1:{port}",
        region=region,
        region_base_urls=((other[0], f"http://127.0.0.1:{other[1]}"),),
        region_peer_key=peer_key,
        database_url=database_url,
        data_dir=folder / region.value,
        secret_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        install_keys_url=jira.install_keys_url,
        personal_data_url=jira.personal_data_url,
        forge_app_id=jira.forge.app_id,
        forge_jwks_url=jira.forge.jwks_url,
    )


async def start_regions(
    jira: JiraSimulator,
    server: str,
    folder: Path,
    *,
    eu_key: str | None = PEER_KEY,
    us_key: str | None = PEER_KEY,
) -> AsyncIterator[Regions]:
    eu_db, us_db = await create_database(server), await create_database(server)
    eu_port, us_port = free_port(), free_port()
    eu = Deployment(
        settings_of(Region.EU, eu_port, (Region.US, us_port), eu_db, folder, jira, eu_key)
    )
    us = Deployment(
        settings_of(Region.US, us_port, (Region.EU, eu_port), us_db, folder, jira, us_key)
    )
    await eu.start()
    await us.start()
    try:
        yield Regions(eu, us, eu_db, us_db)
    finally:
        await eu.stop()
        await us.stop()
        await drop_database(server, eu_db)
        await drop_database(server, us_db)


@pytest.fixture
async def regions(
    jira: JiraSimulator, postgres_server_url: str, tmp_path: Path
) -> AsyncIterator[Regions]:
    jira.migrations.poll_seconds = 0.05
    jira.migrations.retry_seconds = 0.05
    async for pair in start_regions(jira, postgres_server_url, tmp_path):
        yield pair


async def call(
    session: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"JWT {token}"}
    async with session.request(method, url, headers=headers, **kwargs) as response:
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


async def a_room_with_votes(jira: JiraSimulator, base_url: str) -> dict[str, Any]:
    """Alice's room on DEMO-1 with Bob in it, both voted, and one finished round."""
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    bob = jira.context_token("acme", user=BOB, issue="DEMO-1")
    async with aiohttp.ClientSession() as session:
        status, room = await call(
            session, "POST", f"{base_url}/api/rooms", alice, json={"issueKey": "DEMO-1"}
        )
        assert status == 201, room
        rooms = f"{base_url}/api/rooms/{room['id']}"
        await call(session, "POST", f"{rooms}/join", bob, json={})
        await call(session, "PUT", f"{rooms}/vote", alice, json={"card": "3"})
        await call(session, "PUT", f"{rooms}/vote", bob, json={"card": "5"})
        await call(session, "POST", f"{rooms}/reveal", alice)
        await call(session, "POST", f"{rooms}/reset", alice)
        await call(session, "PUT", f"{rooms}/vote", alice, json={"card": "8"})
        status, view = await call(session, "GET", f"{base_url}/api/rooms?issueKey=DEMO-1", alice)
        assert status == 200
        return dict(view)


async def view_at(jira: JiraSimulator, base_url: str) -> tuple[int, Any]:
    alice = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    async with aiohttp.ClientSession() as session:
        return await call(session, "GET", f"{base_url}/api/rooms?issueKey=DEMO-1", alice)


async def rows_of_site(database_url: str, jira: JiraSimulator, room_id: str) -> list[str]:
    site = jira.site("acme")
    needles = (site.client_key, room_id, ALICE, BOB)
    return [row for row in await every_row_as_text(database_url) if any(n in row for n in needles)]


async def install_in_eu(jira: JiraSimulator, regions: Regions) -> dict[str, Any]:
    jira.site("acme").realm = "EU"
    installation = await jira.install("acme", regions.eu.url)
    assert installation.app_base_url == regions.eu.url
    return await a_room_with_votes(jira, regions.eu.url)


async def test_a_site_moves_from_eu_to_us(jira: JiraSimulator, regions: Regions) -> None:
    before = await install_in_eu(jira, regions)

    run = await jira.migrations.migrate(jira.site("acme"), "US")

    assert run.outcome == "committed", run
    assert run.hooks()[:2] == ["schedule", "start"]
    assert run.hooks()[-1] == "commit"
    assert await rows_of_site(regions.eu_db, jira, before["id"]) == []
    assert jira.site("acme").installation().app_base_url == regions.us.url
    status, after = await view_at(jira, regions.us.url)
    assert status == 200, after
    assert after == before
    # The secret arrived, so the US deployment signs its own calls to Jira and accepts
    # Jira's tokens; it is stored encrypted there too.
    secret = jira.site("acme").installation().shared_secret
    assert not any(secret in row for row in await every_row_as_text(regions.us_db))
    assert (await view_at(jira, regions.eu.url))[0] == 401


async def test_the_moved_site_keeps_playing_in_its_new_region(
    jira: JiraSimulator, regions: Regions
) -> None:
    before = await install_in_eu(jira, regions)
    assert (await jira.migrations.migrate(jira.site("acme"), "US")).outcome == "committed"
    bob = jira.context_token("acme", user=BOB, issue="DEMO-1")
    rooms = f"{regions.us.url}/api/rooms/{before['id']}"
    async with aiohttp.ClientSession() as session:
        status, view = await call(session, "PUT", f"{rooms}/vote", bob, json={"card": "13"})
    assert status == 200, view
    assert view["version"] == before["version"] + 1


async def test_a_rollback_leaves_eu_untouched_and_us_empty(
    jira: JiraSimulator, regions: Regions
) -> None:
    before = await install_in_eu(jira, regions)
    eu_rows = sorted(await every_row_as_text(regions.eu_db))

    run = await jira.migrations.migrate(jira.site("acme"), "US", commit=False)

    assert run.outcome == "rolled-back", run
    assert await rows_of_site(regions.us_db, jira, before["id"]) == []
    assert await view_at(jira, regions.eu.url) == (200, before)
    after = await every_row_as_text(regions.eu_db)
    # Only the migration's own record differs (and the tenant's version went up and back).
    changed = set(after) ^ set(eu_rows)
    assert all(row.startswith(f"({jira.site('acme').client_key},") for row in changed), changed
    rooms_before = [r for r in eu_rows if before["id"] in r]
    assert sorted(r for r in after if before["id"] in r) == rooms_before


async def test_a_failure_mid_copy_ends_in_a_rollback_not_a_half_site(
    jira: JiraSimulator, regions: Regions
) -> None:
    before = await install_in_eu(jira, regions)
    # The US database fails on the last rows of the copy (the rounds' votes).
    connection = await asyncpg.connect(regions.us_db)
    try:
        await connection.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$;"
            "CREATE TRIGGER refuse BEFORE INSERT ON round_votes "
            "FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    finally:
        await connection.close()

    run = await jira.migrations.migrate(jira.site("acme"), "US")

    assert run.outcome == "rolled-back", run
    assert run.error_code == "E9999"
    assert await rows_of_site(regions.us_db, jira, before["id"]) == []
    assert await view_at(jira, regions.eu.url) == (200, before)


async def test_an_unreachable_target_fails_the_move_and_eu_serves_on(
    jira: JiraSimulator, regions: Regions
) -> None:
    before = await install_in_eu(jira, regions)
    assert regions.us.runner is not None
    await regions.us.runner.cleanup()
    regions.us.runner = None

    run = await jira.migrations.migrate(jira.site("acme"), "US")

    assert run.outcome == "rolled-back", run
    assert run.error_code == "E9999"
    assert await view_at(jira, regions.eu.url) == (200, before)


async def test_migration_without_a_peer_key_is_unsupported(
    jira: JiraSimulator, postgres_server_url: str, tmp_path: Path
) -> None:
    jira.migrations.retry_seconds = 0.01
    async for pair in start_regions(jira, postgres_server_url, tmp_path, eu_key=None):
        before = await install_in_eu(jira, pair)
        run = await jira.migrations.migrate(jira.site("acme"), "US")
        assert run.outcome == "rolled-back"
        assert run.error_code == "E0003"
        assert await view_at(jira, pair.eu.url) == (200, before)


async def test_a_target_without_a_base_url_is_unsupported(
    jira: JiraSimulator, regions: Regions
) -> None:
    await install_in_eu(jira, regions)
    run = await jira.migrations.migrate(jira.site("acme"), "AU")
    assert run.error_code == "E0002"
    assert run.outcome == "rolled-back"


async def test_transfers_sealed_with_another_key_are_refused(
    jira: JiraSimulator, postgres_server_url: str, tmp_path: Path
) -> None:
    jira.migrations.poll_seconds = 0.05
    other = secrets.token_urlsafe(32)
    async for pair in start_regions(jira, postgres_server_url, tmp_path, us_key=other):
        before = await install_in_eu(jira, pair)
        run = await jira.migrations.migrate(jira.site("acme"), "US")
        assert run.outcome == "rolled-back"
        assert run.error_code == "E9999"
        assert await rows_of_site(pair.us_db, jira, before["id"]) == []
        async with aiohttp.ClientSession() as session:
            forged = {"v": 1, "sentAt": "2026-01-01T00:00:00+00:00", "nonce": "", "data": ""}
            async with session.post(f"{pair.us.url}/region/transfer", json=forged) as response:
                assert response.status == 401
                assert (await response.json())["error"]["code"] == "unauthenticated"


async def test_an_operator_moves_a_site_by_hand(jira: JiraSimulator, regions: Regions) -> None:
    before = await install_in_eu(jira, regions)
    site = TenantKey(jira.site("acme").client_key)
    said: list[str] = []

    rehearsal = await migrate_region(
        regions.eu.settings, site, Region.US, migration_id=None, commit=False, say=said.append
    )
    assert rehearsal == "rolled-back"
    assert await rows_of_site(regions.us_db, jira, before["id"]) == []
    assert await view_at(jira, regions.eu.url) == (200, before)

    moved = await migrate_region(
        regions.eu.settings, site, Region.US, migration_id="ops-1", commit=True, say=said.append
    )
    assert moved == "committed"
    assert await rows_of_site(regions.eu_db, jira, before["id"]) == []
    jira.site("acme").installation().app_base_url = regions.us.url
    assert await view_at(jira, regions.us.url) == (200, before)
    assert any("committed" in line for line in said)


async def test_a_forge_site_moves_through_the_forge_hooks(
    jira: JiraSimulator, regions: Regions
) -> None:
    await jira.forge.install("acme", regions.eu.url)
    headers = jira.forge.headers("acme", user=ALICE, issue="DEMO-1")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{regions.eu.url}/api/rooms", headers=headers, json={"issueKey": "DEMO-1"}
        ) as response,
    ):
        assert response.status == 201, await response.text()
        room = await response.json()

    run = await jira.migrations.migrate(jira.site("acme"), "US", forge=True)

    assert run.outcome == "committed", run
    assert await rows_of_site(regions.eu_db, jira, room["id"]) == []
    headers = jira.forge.headers("acme", user=ALICE, issue="DEMO-1")
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{regions.us.url}/api/rooms", params={"issueKey": "DEMO-1"}, headers=headers
        ) as response,
    ):
        assert response.status == 200, await response.text()
        assert (await response.json())["id"] == room["id"]


async def test_forge_hooks_refuse_a_token_that_is_not_forges(
    jira: JiraSimulator, regions: Regions
) -> None:
    await jira.forge.install("acme", regions.eu.url)
    forged = jira.forge.invocation_token("acme")[:-4] + "AAAA"
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{regions.eu.url}/forge/dare/status",
            params={"migrationId": "1"},
            headers={"Authorization": f"Bearer {forged}"},
        ) as response,
    ):
        assert response.status == 401


def test_the_manifest_sends_the_forge_hooks_where_the_server_serves_them() -> None:
    from agiletoolbox.adapters.forge.manifest import ForgePaths
    from agiletoolbox.adapters.http.forge import FORGE_DARE_PATH

    assert ForgePaths().dare == FORGE_DARE_PATH
    assert jira_default_forge_path() == FORGE_DARE_PATH


def jira_default_forge_path() -> str:
    import attrs

    from agiletoolbox.simulator.residency import RealmMigrations

    return str(attrs.fields(RealmMigrations).forge_path.default)
