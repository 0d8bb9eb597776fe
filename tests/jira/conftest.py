"""Fixtures: a running simulator, one client session, and the client under test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from agiletoolbox.adapters.jira import (
    ConnectJiraClient,
    ConnectPersonalDataReporter,
    SignedTransport,
)
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.simulator import JiraSimulator
from tests.jira.kit import APP_KEY, Sleeps, tenant_of


@pytest.fixture
async def jira() -> AsyncIterator[JiraSimulator]:
    """A simulator listening on a free port."""
    async with JiraSimulator() as simulator:
        yield simulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The one client session (the composition root's, in production)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def sleeps() -> Sleeps:
    """The waits the transport asked for."""
    return Sleeps()


@pytest.fixture
def transport(session: aiohttp.ClientSession, sleeps: Sleeps) -> SignedTransport:
    """Signed requests as the app, without real waits between retries."""
    return SignedTransport(session, APP_KEY, sleep=sleeps, timeout=2.0)


@pytest.fixture
def client(transport: SignedTransport) -> ConnectJiraClient:
    """The Jira client under test."""
    return ConnectJiraClient(transport)


@pytest.fixture
def reporter(transport: SignedTransport, jira: JiraSimulator) -> ConnectPersonalDataReporter:
    """The personal-data reporter, aimed at the simulator."""
    return ConnectPersonalDataReporter(transport, jira.personal_data_url)


@pytest.fixture
def tenant(jira: JiraSimulator) -> Tenant:
    """The app's tenant for site `acme`."""
    return tenant_of(jira)
