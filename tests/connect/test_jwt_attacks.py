"""The JWT attack table, part one: algorithms, keys and signatures (J1-J4, J13, J14).

reliability.md §2 lists the attacks; each is tried against every class of Connect route
where it applies - `page` (iframe URL tokens), `api` (context tokens), `lifecycle`
(enabled/disabled, shared secret) and `install` (signed installs, RS256) - and must be
refused with the reason that names it. Part two (`test_jwt_attacks_claims.py`) covers
the claims.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from agiletoolbox.adapters.connect.errors import AuthFailure
from tests.connect.routes import (
    API,
    PAGE,
    Route,
    refused,
)
from tests.connect.tokenkit import (
    CLIENT_KEY,
    KID,
    OTHER_SECRET,
    SECRET,
    hs256,
    public_pem,
    rs256,
    rsa_key,
    sign_raw,
    sign_raw_rsa,
    unsigned,
)


async def test_a_genuine_token_passes(any_route: Route) -> None:
    caller = await any_route.verify(any_route.token())
    assert caller.client_key.value == CLIENT_KEY


# -- J1: alg none ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
async def test_j1_alg_none(any_route: Route, alg: str) -> None:
    token = unsigned({"alg": alg, "typ": "JWT", "kid": KID}, any_route.claims())
    await refused(any_route, token, AuthFailure.ALGORITHM_NOT_ALLOWED)


async def test_j1_no_alg_at_all(any_route: Route) -> None:
    token = sign_raw({"typ": "JWT", "kid": KID}, any_route.claims())
    await refused(any_route, token, AuthFailure.ALGORITHM_NOT_ALLOWED)


# -- J2: HS/RS confusion ---------------------------------------------------------------------


async def test_j2_rs256_on_a_shared_secret_route(hs_route: Route) -> None:
    await refused(hs_route, rs256(hs_route.claims()), AuthFailure.ALGORITHM_NOT_ALLOWED)


async def test_j2_hmac_signed_token_claiming_rs256(hs_route: Route) -> None:
    token = sign_raw({"alg": "RS256", "typ": "JWT"}, hs_route.claims(), SECRET)
    await refused(hs_route, token, AuthFailure.ALGORITHM_NOT_ALLOWED)


async def test_j2_install_signed_with_the_shared_secret(install: Route) -> None:
    await refused(install, hs256(install.claims(), kid=KID), AuthFailure.ALGORITHM_NOT_ALLOWED)
    assert install.fetcher.fetched == []


async def test_j2_install_signed_with_the_public_key_as_hmac_secret(install: Route) -> None:
    # The classic confusion: the attacker knows the public PEM and uses it as HMAC key.
    pem = public_pem(rsa_key("atlassian"))
    token = sign_raw({"alg": "HS256", "typ": "JWT", "kid": KID}, install.claims(), pem)
    await refused(install, token, AuthFailure.ALGORITHM_NOT_ALLOWED)
    assert install.fetcher.fetched == []


# -- J3: the algorithm is the route's, never the token's -----------------------------------


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
async def test_j3_other_hmac_algorithms_with_the_right_secret(hs_route: Route, alg: str) -> None:
    header = {"alg": alg, "typ": "JWT"}
    token = sign_raw(header, hs_route.claims(), SECRET, digest=f"sha{alg[2:]}")
    await refused(hs_route, token, AuthFailure.ALGORITHM_NOT_ALLOWED)


async def test_j3_algorithm_names_are_exact(hs_route: Route) -> None:
    token = sign_raw({"alg": "hs256", "typ": "JWT"}, hs_route.claims(), SECRET)
    await refused(hs_route, token, AuthFailure.ALGORITHM_NOT_ALLOWED)


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256"])
async def test_j3_other_rsa_algorithms_with_atlassians_key(install: Route, alg: str) -> None:
    await refused(
        install, rs256(install.claims(), algorithm=alg), AuthFailure.ALGORITHM_NOT_ALLOWED
    )
    assert install.fetcher.fetched == []


async def test_j3_elliptic_curve_install(install: Route) -> None:
    token = jwt.encode(
        install.claims(), ec.generate_private_key(ec.SECP256R1()), "ES256", headers={"kid": KID}
    )
    await refused(install, token, AuthFailure.ALGORITHM_NOT_ALLOWED)


# -- J4: kid injection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "../x",
        "..",
        "a/../b",
        "./a",
        "%2e%2e/x",
        "a\\b",
        "http://evil.example.com/key",
        "//evil.example.com/key",
        "a?b=c",
        "a#b",
        "a b",
        "",
        "/a",
        "a/",
        "a//b",
        "a.pem",
        "k\u00e9y",
        "x" * 257,
    ],
)
async def test_j4_kid_outside_the_strict_pattern_is_never_fetched(install: Route, kid: str) -> None:
    await refused(install, rs256(install.claims(), kid=kid), AuthFailure.INVALID_KEY_ID)
    assert install.fetcher.fetched == []


@pytest.mark.parametrize("kid", [None, 42, ["a"], {"a": 1}])
async def test_j4_kid_missing_or_not_a_string(install: Route, kid: object) -> None:
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    await refused(install, sign_raw_rsa(header, install.claims()), AuthFailure.INVALID_KEY_ID)
    assert install.fetcher.fetched == []


async def test_j4_a_kid_plays_no_part_on_shared_secret_routes(hs_route: Route) -> None:
    caller = await hs_route.verify(hs_route.sign(hs_route.claims(), kid="../../etc/passwd"))
    assert caller.client_key.value == CLIENT_KEY
    assert hs_route.fetcher.fetched == []


# -- J13: crit ------------------------------------------------------------------------------------


@pytest.mark.parametrize("crit", [["exp"], ["b64"], ["x-unknown"], []])
async def test_j13_crit_header(any_route: Route, crit: list[str]) -> None:
    token = any_route.sign(any_route.claims(), crit=crit)
    await refused(any_route, token, AuthFailure.UNSUPPORTED_HEADER)


# -- J14: no path that skips the signature --------------------------------------------------------

SOURCES = Path(__file__).parents[2] / "src" / "agiletoolbox" / "adapters" / "connect"


def test_j14_no_verification_switch_in_the_connect_adapter() -> None:
    files = sorted(SOURCES.glob("*.py"))
    assert files
    for path in files:
        text = path.read_text()
        assert '"verify_signature"' not in text, path
        assert "verify_signature=" not in text, path
        assert "get_unverified" not in text, path
        assert "options=" not in text, path
        # Every PyJWT call names its algorithm list from a constant of the route.
        for match in re.finditer(r"algorithms=([^)\n]*)", text):
            assert match.group(1) == "[algorithm]", (path, match.group(0))


# -- signatures and tenants ----------------------------------------------------------------


async def test_tampered_signature(any_route: Route) -> None:
    header, payload, signature = any_route.token().split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    await refused(any_route, f"{header}.{payload}.{flipped}", AuthFailure.BAD_SIGNATURE)


async def test_claims_swapped_under_a_genuine_signature(any_route: Route) -> None:
    header, _, signature = any_route.token().split(".")
    forged = any_route.token(sub="attacker-account").split(".")[1]
    await refused(any_route, f"{header}.{forged}.{signature}", AuthFailure.BAD_SIGNATURE)


async def test_inaccessible_tenant_is_refused_after_the_signature() -> None:
    for kind in (PAGE, API):
        route = Route(kind)
        route.tenants.inaccessible.add(CLIENT_KEY)
        await refused(route, route.token(), AuthFailure.TENANT_INACCESSIBLE)
        # A bad signature says nothing about the tenant's state.
        await refused(route, hs256(route.claims(), OTHER_SECRET), AuthFailure.BAD_SIGNATURE)


async def test_lifecycle_callbacks_reach_a_disabled_tenant() -> None:
    route = Route("lifecycle")
    route.tenants.inaccessible.add(CLIENT_KEY)
    assert (await route.verify(route.token())).client_key.value == CLIENT_KEY
