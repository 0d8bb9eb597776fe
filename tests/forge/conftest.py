"""Fixtures of the Forge tests: the app as `serve` runs it with Forge on, a simulated Jira."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agiletoolbox.adapters.postgres import open_pool
from agiletoolbox.settings import Environment, Settings
from agiletoolbox.simulator import JiraSimulator
from tests.e2e.conftest import Deployment, free_port
from tests.integration.conftest import database_url, postgres_server_url
from tests.integration.database import clean

__all__ = ["database_url", "postgres_server_url"]


@pytest.fixture
async def jira() -> AsyncIterator[JiraSimulator]:
    async with JiraSimulator() as simulator:
        simulator.add_site("moving", connect_on_forge=True)
        yield simulator


@pytest.fixture
async def deployment(
    jira: JiraSimulator, database_url: str, tmp_path: Path
) -> AsyncIterator[Deployment]:
    port = free_port()
    settings = Settings(
        env=Environment.TEST,
        port=port,
        base_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        install_keys_url=jira.install_keys_url,
        personal_data_url=jira.personal_data_url,
        forge_app_id=jira.forge.app_id,
        forge_jwks_url=jira.forge.jwks_url,
    )
    async with open_pool(database_url, min_size=1, max_size=1) as pool, pool.acquire() as c:
        await clean(c)
        await c.execute("TRUNCATE forge_tokens")
    app = Deployment(settings)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
