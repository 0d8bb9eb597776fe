"""Lifecycle callbacks: signed installs (RS256) and enabled/disabled (shared secret)."""

from __future__ import annotations

import pytest

from agiletoolbox.adapters.connect.errors import AuthFailure
from agiletoolbox.adapters.connect.install import LifecycleVerifier
from agiletoolbox.adapters.connect.install_keys import InstallKeys, MemoryKeyFetcher
from agiletoolbox.adapters.connect.qsh import qsh_for_url
from agiletoolbox.adapters.connect.tokens import ConnectRequest
from tests.connect.routes import DROP, KEYS_URL, LIFECYCLE, REGION_BASE_URL, Route, refused
from tests.connect.tokenkit import (
    ACCOUNT_ID,
    APP_BASE_URL,
    CLIENT_KEY,
    KID,
    NOW,
    OTHER_CLIENT_KEY,
    SECRET,
    FakeTenants,
    claims_for,
    hs256,
    public_pem,
    rs256,
    rsa_key,
    sign_raw_rsa,
    stamp,
)

# -- the happy path -------------------------------------------------------------------------------


async def test_signed_install(install: Route) -> None:
    caller = await install.verify(install.token())
    assert caller.client_key.value == CLIENT_KEY
    assert caller.account_id is not None
    assert caller.account_id.value == ACCOUNT_ID
    assert install.fetcher.fetched == [f"{KEYS_URL}/{KID}"]


async def test_the_key_is_fetched_once_per_kid(install: Route) -> None:
    verifier = install.lifecycle
    for target in ("/lifecycle/installed", "/lifecycle/uninstalled"):
        claims = install.claims(qsh=qsh_for_url("POST", target, APP_BASE_URL))
        request = ConnectRequest.from_target("POST", target, authorization=f"JWT {rs256(claims)}")
        await verifier.verify_signed(request, client_key=CLIENT_KEY, now=NOW)
    assert install.fetcher.fetched == [f"{KEYS_URL}/{KID}"]


async def test_token_in_the_query_works_too(install: Route) -> None:
    request = ConnectRequest.from_target("POST", f"/lifecycle/installed?jwt={install.token()}")
    caller = await install.lifecycle.verify_signed(request, client_key=CLIENT_KEY, now=NOW)
    assert caller.client_key.value == CLIENT_KEY


async def test_install_on_a_base_url_with_a_path() -> None:
    base = "https://host.example.com/poker"
    fetcher = MemoryKeyFetcher({f"{KEYS_URL}/{KID}": public_pem(rsa_key("atlassian"))})
    verifier = LifecycleVerifier(
        keys=InstallKeys(fetcher, KEYS_URL), tenants=FakeTenants(), app_base_url=base
    )
    target = "/poker/lifecycle/installed?user_key=x"
    claims = claims_for("POST", target, base_url=base, aud=base + "/")
    request = ConnectRequest.from_target("POST", target, authorization=f"JWT {rs256(claims)}")
    await verifier.verify_signed(request, client_key=CLIENT_KEY, now=NOW)


async def test_regional_install(install: Route) -> None:
    await install.verify(install.token(aud=[REGION_BASE_URL]))


# -- every refusal -------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["../x", "a/../b", "..%2fx", "https://evil/x", ""])
async def test_bad_kid_pattern(install: Route, kid: str) -> None:
    await refused(install, rs256(install.claims(), kid=kid), AuthFailure.INVALID_KEY_ID)
    assert install.fetcher.fetched == []


async def test_missing_kid(install: Route) -> None:
    await refused(install, rs256(install.claims(), kid=None), AuthFailure.INVALID_KEY_ID)


async def test_unknown_kid(install: Route) -> None:
    token = rs256(install.claims(), kid="1b9e0ed8-5bd9-4e1c-8a3a-0f0d9e8d7c6b")
    await refused(install, token, AuthFailure.UNKNOWN_KEY)


async def test_key_server_down(install: Route) -> None:
    install.fetcher.unavailable = True
    await refused(install, install.token(), AuthFailure.KEY_UNAVAILABLE)


async def test_key_server_serving_a_weak_key(install: Route) -> None:
    weak = rsa_key("weak", 1024)
    install.fetcher.documents[f"{KEYS_URL}/weak"] = public_pem(weak)
    token = sign_raw_rsa({"alg": "RS256", "kid": "weak"}, install.claims(), weak)
    await refused(install, token, AuthFailure.KEY_UNAVAILABLE)


async def test_signed_by_another_key_under_atlassians_kid(install: Route) -> None:
    token = rs256(install.claims(), rsa_key("attacker"))
    await refused(install, token, AuthFailure.BAD_SIGNATURE)


async def test_wrong_aud(install: Route) -> None:
    await refused(
        install, install.token(aud="https://evil.example.com"), AuthFailure.WRONG_AUDIENCE
    )


async def test_wrong_iss(install: Route) -> None:
    await refused(install, install.token(iss=OTHER_CLIENT_KEY), AuthFailure.CLIENT_KEY_MISMATCH)


async def test_body_names_another_client(install: Route) -> None:
    await refused(
        install, install.token(), AuthFailure.CLIENT_KEY_MISMATCH, client_key=OTHER_CLIENT_KEY
    )


async def test_expired(install: Route) -> None:
    token = install.token(iat=stamp(NOW) - 600, exp=stamp(NOW) - 60)
    await refused(install, token, AuthFailure.EXPIRED)


@pytest.mark.parametrize("claim", ["iss", "aud", "qsh", "exp", "iat"])
async def test_missing_claims(install: Route, claim: str) -> None:
    await refused(install, install.token(**{claim: DROP}), AuthFailure.MISSING_CLAIM)


async def test_hs256_signed_install(install: Route) -> None:
    await refused(install, hs256(install.claims(), SECRET), AuthFailure.ALGORITHM_NOT_ALLOWED)
    assert install.fetcher.fetched == []


async def test_qsh_mismatch(install: Route) -> None:
    await refused(
        install, install.token(), AuthFailure.QSH_MISMATCH, target="/lifecycle/uninstalled"
    )


async def test_context_qsh(install: Route) -> None:
    await refused(install, install.token(qsh="context-qsh"), AuthFailure.CONTEXT_TOKEN_REFUSED)


async def test_no_token(install: Route) -> None:
    await refused(install, None, AuthFailure.MISSING_TOKEN)


# -- enabled and disabled --------------------------------------------------------------------------


async def test_enabled_with_the_shared_secret() -> None:
    route = Route(LIFECYCLE)
    caller = await route.verify(route.token())
    assert caller.client_key.value == CLIENT_KEY


async def test_enabled_for_an_unknown_tenant() -> None:
    route = Route(LIFECYCLE)
    route.tenants.secrets.clear()
    await refused(route, route.token(), AuthFailure.UNKNOWN_ISSUER)


async def test_enabled_signed_with_rs256_is_refused() -> None:
    route = Route(LIFECYCLE)
    await refused(route, rs256(route.claims()), AuthFailure.ALGORITHM_NOT_ALLOWED)


async def test_enabled_for_another_request() -> None:
    route = Route(LIFECYCLE)
    await refused(route, route.token(), AuthFailure.QSH_MISMATCH, target="/lifecycle/disabled")
