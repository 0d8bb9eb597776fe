"""Fixtures of the reliability battery, and the table of figures printed at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from agiletoolbox.simulator import JiraSimulator
from tests.e2e.conftest import jira
from tests.integration.conftest import database_url, postgres_server_url
from tests.integration.database import create_database, drop_database
from tests.reliability.cluster import PrivateCluster
from tests.reliability.kit import FULL, Fleet

__all__ = ["database_url", "jira", "postgres_server_url"]

Figures = Callable[..., None]
_FIGURES = pytest.StashKey[list[str]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder belongs to the battery and needs PostgreSQL."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.reliability)
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """Record a scenario's figures: printed now and in the summary at the end of the run."""
    collected = request.config.stash.setdefault(_FIGURES, [])

    def record(scenario: str, **values: object) -> None:
        shown = ", ".join(
            f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
            for name, value in values.items()
        )
        line = f"{scenario} [{'full' if FULL else 'short'}]: {shown}"
        print(line)
        collected.append(line)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures every scenario recorded, after the test results."""
    lines = terminalreporter.config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session without a connection limit (the scenarios open many sockets)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as opened:
        yield opened


@pytest.fixture
async def own_database(postgres_server_url: str) -> AsyncIterator[str]:
    """A migrated database of the scenario's own (its backends may be killed at will)."""
    url = await create_database(postgres_server_url)
    try:
        yield url
    finally:
        await drop_database(postgres_server_url, url)


@pytest.fixture
async def fleet(
    jira: JiraSimulator, own_database: str, tmp_path: Path, session: aiohttp.ClientSession
) -> AsyncIterator[Fleet]:
    """One serve process on a database of its own."""
    started = Fleet(jira, own_database, tmp_path)
    try:
        await started.start(session)
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def product_fleet(
    jira: JiraSimulator, own_database: str, tmp_path: Path, session: aiohttp.ClientSession
) -> AsyncIterator[Fleet]:
    """One serve process with the product's default limits."""
    started = Fleet(jira, own_database, tmp_path, limits={})
    try:
        await started.start(session)
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def cluster() -> AsyncIterator[PrivateCluster]:
    """A private PostgreSQL cluster the scenario may restart, with a migrated database."""
    private = PrivateCluster()
    try:
        await private.start()
        yield private
    finally:
        await private.stop()


@pytest.fixture
async def cluster_database(cluster: PrivateCluster) -> str:
    """A migrated database on the private cluster."""
    return await create_database(cluster.url)
