"""Verifying shared-secret Connect JWTs: what a genuine caller gets, and robustness."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agiletoolbox.adapters.connect.errors import AuthFailure, ConnectAuthError
from agiletoolbox.adapters.connect.jwt import ConnectJwtVerifier, RouteClass
from agiletoolbox.adapters.connect.qsh import qsh_for_url
from agiletoolbox.adapters.connect.tokens import ConnectRequest
from agiletoolbox.domain.ids import AccountId, IssueKey
from tests.connect.tokenkit import (
    ACCOUNT_ID,
    APP_BASE_URL,
    CLIENT_KEY,
    NOW,
    FakeTenants,
    claims_for,
    context_claims,
    header_request,
    hs256,
    page_request,
    rs256,
    sign_raw,
)


def verifier(tenants: FakeTenants | None = None, *base_urls: str) -> ConnectJwtVerifier:
    return ConnectJwtVerifier(tenants or FakeTenants(), base_urls=base_urls or [APP_BASE_URL])


async def test_a_page_load_names_tenant_user_and_expiry() -> None:
    target = "/room?issueKey=DEMO-7&issueId=10007&view=glance"
    token = hs256(claims_for("GET", target))
    caller = await verifier().verify(page_request(token, target), RouteClass.PAGE, now=NOW)
    assert caller.client_key.value == CLIENT_KEY
    assert caller.account_id == AccountId(ACCOUNT_ID)
    assert caller.expires_at > NOW
    assert caller.context.issue_key is None  # URL tokens carry no context


async def test_an_api_call_names_the_jira_context() -> None:
    token = hs256(context_claims())
    request = header_request(token, "/api/rooms?issueKey=DEMO-7")
    caller = await verifier().verify(request, RouteClass.API, now=NOW)
    assert caller.context.issue_key == IssueKey("DEMO-7")
    assert caller.context.project_key == "DEMO"
    assert caller.account_id == AccountId(ACCOUNT_ID)


async def test_a_websocket_may_pass_the_context_token_in_the_query() -> None:
    request = ConnectRequest.from_target("GET", f"/api/rooms/r1/live?jwt={hs256(context_claims())}")
    assert (
        await verifier().verify(request, RouteClass.API, now=NOW)
    ).client_key.value == CLIENT_KEY


async def test_anonymous_tokens_have_no_user() -> None:
    claims = claims_for("GET", "/room")
    del claims["sub"]
    caller = await verifier().verify(page_request(hs256(claims), "/room"), RouteClass.PAGE, now=NOW)
    assert caller.account_id is None


async def test_the_qsh_path_is_relative_to_the_base_url_path() -> None:
    base = "https://host.example.com/poker"
    token = hs256(claims_for("GET", "/poker/room?x=1", base_url=base))
    request = page_request(token, "/poker/room?x=1")
    await verifier(None, base).verify(request, RouteClass.PAGE, now=NOW)


async def test_any_of_the_deployment_base_urls_will_do() -> None:
    regional = "https://eu.example.com/poker"
    token = hs256(claims_for("GET", "/poker/room", base_url=regional))
    check = verifier(None, APP_BASE_URL, regional)
    await check.verify(page_request(token, "/poker/room"), RouteClass.PAGE, now=NOW)


async def test_a_page_posted_with_the_token_and_query_in_the_form() -> None:
    claims = claims_for("POST", "/room?issueKey=DEMO-7")
    request = ConnectRequest("POST", "/room", form=(("issueKey", "DEMO-7"), ("jwt", hs256(claims))))
    await verifier().verify(request, RouteClass.PAGE, now=NOW)


async def test_a_token_signed_over_the_decoded_path_is_accepted() -> None:
    claims = claims_for("GET", "/room")
    claims["qsh"] = qsh_for_url("GET", "/room/a b", APP_BASE_URL)
    request = page_request(hs256(claims), "/room/a%20b")
    await verifier().verify(request, RouteClass.PAGE, now=NOW)


async def test_the_tenant_is_looked_up_by_its_exact_key_once() -> None:
    tenants = FakeTenants()
    token = hs256(context_claims())
    await verifier(tenants).verify(header_request(token, "/api/x"), RouteClass.API, now=NOW)
    assert tenants.lookups == [CLIENT_KEY]


async def test_a_token_that_cannot_be_hs256_costs_no_lookup() -> None:
    tenants = FakeTenants()
    with pytest.raises(ConnectAuthError):
        await verifier(tenants).verify(
            header_request(rs256(context_claims()), "/api/x"), RouteClass.API, now=NOW
        )
    assert tenants.lookups == []


def test_a_verifier_needs_a_base_url() -> None:
    with pytest.raises(ValueError, match="base URL"):
        ConnectJwtVerifier(FakeTenants(), base_urls=[])


def test_the_reason_maps_to_a_status() -> None:
    assert ConnectAuthError(AuthFailure.BAD_SIGNATURE).status == 401
    assert ConnectAuthError(AuthFailure.TENANT_INACCESSIBLE).status == 403
    assert ConnectAuthError(AuthFailure.KEY_UNAVAILABLE).status == 503
    assert ConnectAuthError(AuthFailure.EXPIRED).code == "expired"


# -- robustness ---------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_claim_names = st.sampled_from(["iss", "sub", "iat", "exp", "nbf", "qsh", "aud", "context", "x"])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(_claim_names, _json, max_size=4),
    st.dictionaries(st.sampled_from(["kid", "typ", "cty", "jku", "x5u"]), _json, max_size=2),
    st.sampled_from(RouteClass),
)
def test_any_signed_claims_verify_or_are_refused_cleanly(
    changes: dict[str, Any], headers: dict[str, Any], route: RouteClass
) -> None:
    base = context_claims() if route is RouteClass.API else claims_for("GET", "/room")
    token = sign_raw({"alg": "HS256", **headers}, {**base, **changes})
    request = page_request(token, "/room")

    async def attempt() -> None:
        with contextlib.suppress(ConnectAuthError):
            await verifier().verify(request, route, now=NOW)

    asyncio.run(attempt())


@given(st.text(max_size=200), st.sampled_from(RouteClass))
def test_any_authorization_header_is_refused_cleanly(text: str, route: RouteClass) -> None:
    request = ConnectRequest("GET", "/room", authorization=text)

    async def attempt() -> None:
        with pytest.raises(ConnectAuthError):
            await verifier().verify(request, route, now=NOW)

    asyncio.run(attempt())
