"""The operators' verbs on a real database: purge, erase-account, errors."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, open_pool
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from tests.e2e.test_serve import environment
from tests.integration.database import clean

pytestmark = pytest.mark.postgres

SITE = TenantKey("ops-site")
ANA = AccountId("557058:ops-ana")
BEN = AccountId("557058:ops-ben")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def seed(url: str, key: str) -> None:
    """A tenant with a persistent room and an idle one, and one error report."""
    async with open_pool(url, min_size=1, max_size=2) as pool:
        async with pool.acquire() as connection:
            await clean(connection)
        database = PostgresDatabase(pool, KeyRing.parse(key))
        async with database.unit_of_work() as work:
            await work.tenants.save(
                Tenant.install(
                    key=SITE,
                    base_url="https://ops.atlassian.net",
                    shared_secret="ops-shared-secret-0123456789",
                    product_type=ProductType.JIRA,
                    region=Region.US,
                    now=T0,
                )
            )
            for number, persistent in ((1, True), (2, False)):
                room = Room.open(
                    SITE,
                    RoomId.generate(),
                    IssueKey(f"OPS-{number}"),
                    ANA,
                    RoomConfig(persistent=persistent),
                    T0,
                )
                room.join(BEN, Role.VOTER, T0)
                room.vote(BEN, "5", T0)
                await work.rooms.add(room)
            await work.error_reports.add(
                ErrorReport.capture(
                    where="trace", message="boom", code="Boom", now=T0, tenant=SITE
                ),
                counted_since=T0,
            )
            await work.commit()


async def agiletoolbox(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agiletoolbox",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_purge_erase_and_errors(tmp_path: Path, database_url: str) -> None:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    await seed(database_url, key)
    env = environment(tmp_path, env="test", database_url=database_url, secret_key=key)

    status, out, err = await agiletoolbox(env, "errors")
    assert status == 0, err
    assert "Boom" in out
    assert "tenant=ops-site" in out

    status, out, err = await agiletoolbox(env, "purge", "--as-of", "2026-03-01T00:00Z", "--dry-run")
    assert status == 0, err
    assert "idle rooms would remove: 0" in out, "60 days idle is inside the 90-day window"
    assert "error reports would remove: 1" in out

    status, out, err = await agiletoolbox(env, "purge", "--as-of", "2026-06-01T00:00Z", "--dry-run")
    assert "idle rooms would remove: 1" in out
    status, out, err = await agiletoolbox(env, "purge", "--as-of", "2026-06-01T00:00Z")
    assert status == 0, err
    assert "idle rooms removed: 1" in out
    assert "error reports removed: 1" in out
    status, out, err = await agiletoolbox(env, "purge", "--as-of", "2026-06-01T00:00Z")
    assert "idle rooms removed: 0" in out, "a second purge finds nothing more"

    status, out, err = await agiletoolbox(env, "export-account", BEN.value)
    assert status == 0, err
    exported = json.loads(out)
    assert [room["issueKey"] for room in exported["rooms"]] == ["OPS-1"]
    assert exported["rooms"][0]["vote"] == "5"
    assert exported["rooms"][0]["role"] == "voter"

    status, out, err = await agiletoolbox(env, "erase-account", BEN.value)
    assert status == 0, err
    assert "from 1 room(s)" in out
    async with (
        open_pool(database_url, min_size=1, max_size=1) as pool,
        pool.acquire() as connection,
    ):
        rows = await connection.fetch(
            "SELECT t::text AS row FROM (SELECT * FROM participants) t "
            "UNION ALL SELECT v::text FROM (SELECT * FROM votes) v"
        )
    assert all(BEN.value not in row["row"] for row in rows)
    status, out, err = await agiletoolbox(env, "export-account", BEN.value)
    assert json.loads(out)["rooms"] == []

    status, _, err = await agiletoolbox(env, "purge", "--as-of", "yesterday")
    assert status == 2
    assert "ISO-8601" in err
    status, _, err = await agiletoolbox(env, "erase-account", "has space")
    assert status == 2
    assert "account id" in err
