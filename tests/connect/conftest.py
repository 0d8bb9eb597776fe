"""Fixtures shared by the Connect tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connect.oracles import JwtOracle
from tests.connect.routes import ALL_ROUTES, HS_ROUTES, INSTALL, URL_BOUND, Route


@pytest.fixture(scope="session")
def jwt_oracle() -> Iterator[JwtOracle]:
    """Atlassian's `atlassian-jwt`, running in node for the whole session."""
    oracle = JwtOracle()
    yield oracle
    oracle.close()


@pytest.fixture(params=ALL_ROUTES)
def any_route(request: pytest.FixtureRequest) -> Route:
    """Each class of Connect route in turn."""
    return Route(request.param)


@pytest.fixture(params=HS_ROUTES)
def hs_route(request: pytest.FixtureRequest) -> Route:
    """Each class of route that takes shared-secret tokens."""
    return Route(request.param)


@pytest.fixture(params=URL_BOUND)
def url_route(request: pytest.FixtureRequest) -> Route:
    """Each class of route whose tokens are bound to the request by `qsh`."""
    return Route(request.param)


@pytest.fixture
def install() -> Route:
    """The signed-install route."""
    return Route(INSTALL)
