"""Fixtures: a running simulator, an HTTP client, and the tiny Connect app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agiletoolbox.simulator import JiraSimulator
from tests.simulator.appkit import ConnectApp


@pytest.fixture
async def jira() -> AsyncIterator[JiraSimulator]:
    """A simulator listening on a free port, with sites `acme` and `globex`."""
    async with JiraSimulator() as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def connect_app(
    jira: JiraSimulator,
    http: aiohttp.ClientSession,
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
) -> ConnectApp:
    """The tiny Connect app, listening, its keys fetched from the simulator."""
    app = ConnectApp(session=http, keys_url=jira.install_keys_url)
    server = await aiohttp_server(app.app())
    app.base_url = str(server.make_url("")).rstrip("/")
    return app
