"""Fixtures of the Forge tests: the app as `serve` runs it with Forge on, a simulated Jira."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agiletoolbox.simulator import JiraSimulator
from tests.e2e.conftest import Deployment, deployed
from tests.integration.conftest import database_url, postgres_server_url

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
    forge = {"forge_app_id": jira.forge.app_id, "forge_jwks_url": jira.forge.jwks_url}
    async with deployed(jira, database_url, tmp_path, **forge) as app:
        yield app
