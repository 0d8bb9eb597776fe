"""The JWT attack table, part two: the claims (J5-J12).

See `test_jwt_attacks.py` for the route classes; each attack must be refused with the
reason that names it.
"""

from __future__ import annotations

import logging
import re

import pytest

from agiletoolbox.adapters.connect.errors import AuthFailure, ConnectAuthError
from agiletoolbox.adapters.connect.qsh import CONTEXT_QSH, qsh_for_url
from tests.connect.routes import (
    API,
    DROP,
    INSTALL,
    PAGE,
    REGION_BASE_URL,
    Route,
    refused,
)
from tests.connect.tokenkit import (
    APP_BASE_URL,
    CLIENT_KEY,
    NOW,
    OTHER_CLIENT_KEY,
    OTHER_SECRET,
    SECRET,
    hs256,
    public_pem,
    rsa_key,
    stamp,
)

# -- J5: required claims ------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["exp", "iat", "qsh", "iss"])
async def test_j5_missing_claims(any_route: Route, claim: str) -> None:
    await refused(any_route, any_route.token(**{claim: DROP}), AuthFailure.MISSING_CLAIM)


@pytest.mark.parametrize("claim", ["exp", "iat", "qsh", "iss"])
async def test_j5_null_claims(any_route: Route, claim: str) -> None:
    await refused(any_route, any_route.token(**{claim: None}), AuthFailure.MISSING_CLAIM)


# -- J6: expired and not yet valid --------------------------------------------------------------


async def test_j6_expired_beyond_the_leeway(any_route: Route) -> None:
    token = any_route.token(exp=stamp(NOW) - 31, iat=stamp(NOW) - 200)
    await refused(any_route, token, AuthFailure.EXPIRED)


async def test_j6_expired_within_the_leeway_passes(any_route: Route) -> None:
    await any_route.verify(any_route.token(exp=stamp(NOW) - 29, iat=stamp(NOW) - 200))


async def test_j6_issued_in_the_future(any_route: Route) -> None:
    token = any_route.token(iat=stamp(NOW) + 31, exp=stamp(NOW) + 300)
    await refused(any_route, token, AuthFailure.NOT_YET_VALID)


async def test_j6_not_before_in_the_future(any_route: Route) -> None:
    await refused(any_route, any_route.token(nbf=stamp(NOW) + 31), AuthFailure.NOT_YET_VALID)


async def test_j6_times_that_are_not_numbers(any_route: Route) -> None:
    await refused(any_route, any_route.token(exp="2099-01-01"), AuthFailure.INVALID_CLAIM)


# -- J7: unknown or wrong issuer ----------------------------------------------------------------


@pytest.mark.parametrize(
    "issuer",
    [
        "0d6a1f5e-unknown-tenant",
        CLIENT_KEY[:-1],
        CLIENT_KEY + "0",
        CLIENT_KEY.upper(),
        f" {CLIENT_KEY}",
        "jira:" + CLIENT_KEY,
    ],
)
async def test_j7_unknown_issuer(hs_route: Route, issuer: str) -> None:
    await refused(hs_route, hs_route.token(iss=issuer), AuthFailure.UNKNOWN_ISSUER)
    assert all(lookup != CLIENT_KEY for lookup in hs_route.tenants.lookups)


@pytest.mark.parametrize("issuer", [["x"], 42, {"key": CLIENT_KEY}])
async def test_j7_issuer_that_is_not_a_string(any_route: Route, issuer: object) -> None:
    await refused(any_route, any_route.token(iss=issuer), AuthFailure.INVALID_CLAIM)


async def test_j7_issuer_of_another_tenant_with_the_wrong_secret(hs_route: Route) -> None:
    # Signed with tenant B's secret, claiming tenant A.
    token = hs256(hs_route.claims(), OTHER_SECRET)
    await refused(hs_route, token, AuthFailure.BAD_SIGNATURE)


async def test_j7_tenant_b_cannot_speak_for_tenant_a(hs_route: Route) -> None:
    caller = await hs_route.verify(
        hs256(hs_route.claims(iss=OTHER_CLIENT_KEY), OTHER_SECRET), client_key=OTHER_CLIENT_KEY
    )
    assert caller.client_key.value == OTHER_CLIENT_KEY


async def test_j7_install_issuer_must_be_the_body_client_key(install: Route) -> None:
    await refused(install, install.token(iss=OTHER_CLIENT_KEY), AuthFailure.CLIENT_KEY_MISMATCH)


# -- J8: audience of signed installs ------------------------------------------------------------


@pytest.mark.parametrize(
    "audience",
    [
        "https://evil.example.com",
        "https://poker.example.com.evil.com",
        "http://poker.example.com",
        "https://poker.example.com/other",
        ["https://evil.example.com", APP_BASE_URL],
        [],
        42,
        {"url": APP_BASE_URL},
    ],
)
async def test_j8_wrong_audience(install: Route, audience: object) -> None:
    await refused(install, install.token(aud=audience), AuthFailure.WRONG_AUDIENCE)


async def test_j8_missing_audience(install: Route) -> None:
    await refused(install, install.token(aud=DROP), AuthFailure.MISSING_CLAIM)


@pytest.mark.parametrize(
    "audience",
    [APP_BASE_URL, APP_BASE_URL + "/", [APP_BASE_URL], [APP_BASE_URL, "x"], REGION_BASE_URL],
)
async def test_j8_right_audience(install: Route, audience: object) -> None:
    await install.verify(install.token(aud=audience))


# -- J9: missing or wrong qsh -------------------------------------------------------------------


@pytest.mark.parametrize(
    "other_target",
    [
        "/room?issueKey=DEMO-8&issueId=10007&view=glance",
        "/room?issueKey=DEMO-7&issueId=10007&view=glance&extra=1",
        "/lifecycle/uninstalled",
        "/elsewhere",
    ],
)
async def test_j9_token_for_another_request(url_route: Route, other_target: str) -> None:
    token = url_route.token()
    await refused(url_route, token, AuthFailure.QSH_MISMATCH, target=other_target)


async def test_j9_qsh_of_another_method(url_route: Route) -> None:
    other = "DELETE" if url_route.method != "DELETE" else "GET"
    qsh = qsh_for_url(other, url_route.target, APP_BASE_URL)
    await refused(url_route, url_route.token(qsh=qsh), AuthFailure.QSH_MISMATCH)


@pytest.mark.parametrize("qsh", ["", "0" * 64, "garbage"])
async def test_j9_meaningless_qsh(url_route: Route, qsh: str) -> None:
    await refused(url_route, url_route.token(qsh=qsh), AuthFailure.QSH_MISMATCH)


async def test_j9_qsh_that_is_not_a_string(any_route: Route) -> None:
    await refused(any_route, any_route.token(qsh=["context-qsh"]), AuthFailure.INVALID_CLAIM)


@pytest.mark.parametrize("qsh", ["", "0" * 64, "Context-QSH", "context-qsh "])
async def test_j9_api_accepts_the_literal_context_qsh_only(qsh: str) -> None:
    api = Route(API)
    await refused(api, api.token(qsh=qsh), AuthFailure.CONTEXT_TOKEN_REQUIRED)


# -- J10: a token of one route class replayed on another ----------------------------------------


async def test_j10_context_token_on_a_url_bound_route(url_route: Route) -> None:
    token = url_route.token(qsh=CONTEXT_QSH)
    await refused(url_route, token, AuthFailure.CONTEXT_TOKEN_REFUSED)


async def test_j10_page_token_on_the_api() -> None:
    page, api = Route(PAGE), Route(API)
    await refused(api, page.token(), AuthFailure.CONTEXT_TOKEN_REQUIRED)
    # Even a URL token made for this very API call is not a context token.
    bound = api.token(qsh=qsh_for_url(api.method, api.target, APP_BASE_URL))
    await refused(api, bound, AuthFailure.CONTEXT_TOKEN_REQUIRED)


async def test_j10_api_token_on_a_page() -> None:
    page, api = Route(PAGE), Route(API)
    await refused(page, api.token(), AuthFailure.CONTEXT_TOKEN_REFUSED)


async def test_j10_shared_secret_token_on_the_install_route(install: Route) -> None:
    lifecycle_token = Route("lifecycle").token()
    await refused(install, lifecycle_token, AuthFailure.ALGORITHM_NOT_ALLOWED)


# -- J11: body clientKey against the token ------------------------------------------------------


@pytest.mark.parametrize("kind", ["lifecycle", INSTALL])
async def test_j11_body_client_key_must_be_the_issuer(kind: str) -> None:
    route = Route(kind)
    await refused(
        route, route.token(), AuthFailure.CLIENT_KEY_MISMATCH, client_key=OTHER_CLIENT_KEY
    )


@pytest.mark.parametrize("kind", ["lifecycle", INSTALL])
async def test_j11_callback_without_a_token(kind: str) -> None:
    await refused(Route(kind), None, AuthFailure.MISSING_TOKEN)


# -- J12: nothing secret in errors or logs ----------------------------------------------------


async def test_j12_errors_and_logs_carry_no_token_or_secret(
    any_route: Route, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [SECRET, OTHER_SECRET, public_pem(rsa_key("atlassian"))]
    attempts = [
        any_route.token(exp=stamp(NOW) - 100),
        hs256(any_route.claims(), OTHER_SECRET),
        any_route.token(qsh="0" * 64),
        any_route.token()[:-4] + "AAAA",
        "not-a-token",
    ]
    for token in attempts:
        with pytest.raises(ConnectAuthError) as excinfo:
            await any_route.verify(token)
        error = excinfo.value
        shown = " ".join([str(error), repr(error), *map(str, error.args), error.code])
        assert re.fullmatch(r"[a-z_]+", error.code)
        for leak in [token, token.split(".")[0], *secrets]:
            assert leak not in shown
        # No chained PyJWT or JSON error (whose text might quote the input) is shown.
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__
    logged = " ".join(record.getMessage() for record in caplog.records)
    for leak in [*attempts, *secrets]:
        assert leak not in logged


async def test_j12_the_verified_caller_carries_no_token(any_route: Route) -> None:
    token = any_route.token()
    caller = await any_route.verify(token)
    assert token not in repr(caller)
    assert token not in repr(any_route.request(token))
