"""Fixtures: the backend and a test client on a real server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from tests.http.kit import Backend


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
async def client(
    backend: Backend, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> TestClient:
    return await aiohttp_client(backend.app())
