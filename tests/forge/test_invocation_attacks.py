"""The invocation-token attack battery: every forgery is refused with the reason naming it.

A genuine token passes; then, one at a time, everything an attacker (or a confused
platform) could change: the algorithm, the key, the issuer, the audience, the times, the
payload, the key id, and the key set itself being down.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from agiletoolbox.adapters.forge.errors import ForgeAuthError, ForgeAuthFailure
from agiletoolbox.adapters.forge.invocation import LEEWAY, InvocationTokenVerifier
from agiletoolbox.adapters.forge.jwks import ForgeKeys
from agiletoolbox.domain.ids import AccountId, IssueKey
from tests.forge.kit import (
    API_BASE_URL,
    APP_ID,
    CLOUD_ID,
    INSTALLATION,
    JWKS_URL,
    KID,
    NOW,
    OTHER_APP_ID,
    PRINCIPAL,
    MemoryJwksFetcher,
    Ticking,
    claims,
    hmac_signed,
    jwk,
    jwks,
    public_pem,
    raw_input,
    rsa_key,
    sign,
    sign_raw,
    stamp,
)


@pytest.fixture
def fetcher() -> MemoryJwksFetcher:
    return MemoryJwksFetcher({JWKS_URL: jwks(jwk(rsa_key("forge"), KID))})


@pytest.fixture
def verifier(fetcher: MemoryJwksFetcher) -> InvocationTokenVerifier:
    return InvocationTokenVerifier(ForgeKeys(fetcher, JWKS_URL, clock=Ticking()), APP_ID)


async def refused(
    verifier: InvocationTokenVerifier, token: str, reason: ForgeAuthFailure
) -> ForgeAuthError:
    with pytest.raises(ForgeAuthError) as caught:
        await verifier.verify(token, now=NOW)
    assert caught.value.reason is reason, caught.value.reason
    assert not token or token not in str(caught.value)
    return caught.value


async def test_a_genuine_token_is_read_into_typed_claims(verifier: InvocationTokenVerifier) -> None:
    context = await verifier.verify(sign(claims()), now=NOW)
    assert context.installation_id == INSTALLATION
    assert context.app.api_base_url == API_BASE_URL
    assert context.app.id == APP_ID
    assert context.app.environment.type == "PRODUCTION"
    assert context.app.module.type == "jira:issuePanel"
    assert context.principal == AccountId(PRINCIPAL)
    assert context.cloud_id == CLOUD_ID
    assert context.issue_key == IssueKey("DEMO-1")
    assert context.context.issue is not None
    assert context.context.issue.project_key == "DEMO"
    assert context.expires_at.timestamp() == stamp(NOW + timedelta(seconds=25))


async def test_a_project_page_names_its_project_and_no_issue(
    verifier: InvocationTokenVerifier,
) -> None:
    """`jira:projectPage` (the refinement sessions): the extension names the project only;
    the caller acts in that project (its sessions, its issues' rooms)."""
    body = claims(issue=None)
    body["context"]["extension"] = {
        "type": "jira:projectPage",
        "project": {"id": "10000", "key": "DEMO", "type": "software"},
    }
    context = await verifier.verify(sign(body), now=NOW)
    assert context.issue_key is None
    assert context.context.project_key == "DEMO"
    assert context.context.extension_type == "jira:projectPage"


async def test_a_trigger_token_has_no_person_and_no_context(
    verifier: InvocationTokenVerifier,
) -> None:
    body = claims(principal=None)
    del body["context"]
    body["app"]["module"] = {"type": "core:endpoint", "key": "ep-life"}
    context = await verifier.verify(sign(body), now=NOW)
    assert context.principal is None
    assert context.issue_key is None
    assert context.cloud_id == CLOUD_ID, "taken from apiBaseUrl when there is no context"


async def test_a_bare_installation_uuid_in_the_claim_is_read_as_its_ari(
    verifier: InvocationTokenVerifier,
) -> None:
    body = claims()
    body["app"]["installationId"] = INSTALLATION.rpartition("/")[2].upper()
    assert (await verifier.verify(sign(body), now=NOW)).installation_id == INSTALLATION


# -- the algorithm is ours ---------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
async def test_alg_none(verifier: InvocationTokenVerifier, alg: str) -> None:
    token = raw_input({"alg": alg, "kid": KID}, claims()) + "."
    await refused(verifier, token, ForgeAuthFailure.MALFORMED_TOKEN)
    token = raw_input({"alg": alg, "kid": KID}, claims()) + ".c2ln"
    await refused(verifier, token, ForgeAuthFailure.ALGORITHM_NOT_ALLOWED)


async def test_no_alg_at_all(verifier: InvocationTokenVerifier) -> None:
    await refused(
        verifier, sign_raw({"kid": KID}, claims()), ForgeAuthFailure.ALGORITHM_NOT_ALLOWED
    )


@pytest.mark.parametrize(
    "secret",
    [
        public_pem(rsa_key("forge")),
        jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key("forge").public_key()),
    ],
    ids=["pem", "jwk"],
)
async def test_hs256_signed_with_the_public_key_as_secret(
    verifier: InvocationTokenVerifier, fetcher: MemoryJwksFetcher, secret: str
) -> None:
    token = hmac_signed({"alg": "HS256", "typ": "JWT", "kid": KID}, claims(), secret)
    await refused(verifier, token, ForgeAuthFailure.ALGORITHM_NOT_ALLOWED)
    assert fetcher.fetched == [], "refused before any key is looked up"


async def test_an_hmac_signature_under_an_rs256_header(verifier: InvocationTokenVerifier) -> None:
    token = hmac_signed({"alg": "RS256", "kid": KID}, claims(), public_pem(rsa_key("forge")))
    await refused(verifier, token, ForgeAuthFailure.BAD_SIGNATURE)


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "rs256"])
async def test_other_rsa_algorithms_with_forges_key(
    verifier: InvocationTokenVerifier, alg: str
) -> None:
    if alg == "rs256":
        token = sign_raw({"alg": alg, "kid": KID}, claims())
    else:
        token = sign(claims(), algorithm=alg)
    await refused(verifier, token, ForgeAuthFailure.ALGORITHM_NOT_ALLOWED)


async def test_elliptic_curve_tokens(verifier: InvocationTokenVerifier) -> None:
    token = jwt.encode(
        claims(), ec.generate_private_key(ec.SECP256R1()), "ES256", headers={"kid": KID}
    )
    await refused(verifier, token, ForgeAuthFailure.ALGORITHM_NOT_ALLOWED)


@pytest.mark.parametrize("extra", [{"crit": ["exp"]}, {"b64": False}])
async def test_headers_that_change_processing(
    verifier: InvocationTokenVerifier, extra: dict[str, Any]
) -> None:
    token = sign_raw({"alg": "RS256", "kid": KID, **extra}, claims())
    await refused(verifier, token, ForgeAuthFailure.UNSUPPORTED_HEADER)


# -- keys ----------------------------------------------------------------------------------


async def test_a_key_forge_does_not_publish(verifier: InvocationTokenVerifier) -> None:
    await refused(verifier, sign(claims(), rsa_key("attacker")), ForgeAuthFailure.BAD_SIGNATURE)


@pytest.mark.parametrize("kid", ["unknown-kid", None, "x" * 300])
async def test_unknown_missing_or_oversized_kid(
    verifier: InvocationTokenVerifier, kid: str | None
) -> None:
    token = sign(claims(), rsa_key("attacker"), kid=kid)
    await refused(verifier, token, ForgeAuthFailure.UNKNOWN_KEY)


async def test_a_kid_that_is_not_text(verifier: InvocationTokenVerifier) -> None:
    token = sign_raw({"alg": "RS256", "kid": 7}, claims())
    await refused(verifier, token, ForgeAuthFailure.UNKNOWN_KEY)


async def test_the_key_set_down_is_503_not_401(
    verifier: InvocationTokenVerifier, fetcher: MemoryJwksFetcher
) -> None:
    fetcher.down = True
    error = await refused(verifier, sign(claims()), ForgeAuthFailure.KEYS_UNAVAILABLE)
    assert error.status == 503


# -- claims ---------------------------------------------------------------------------------


@pytest.mark.parametrize("issuer", ["forge/invocation-token ", "forge", "atlassian", 7])
async def test_wrong_issuer(verifier: InvocationTokenVerifier, issuer: object) -> None:
    token = sign_raw({"alg": "RS256", "kid": KID}, claims(iss=issuer))
    await refused(verifier, token, ForgeAuthFailure.WRONG_ISSUER)


@pytest.mark.parametrize("audience", [OTHER_APP_ID, [OTHER_APP_ID], APP_ID.upper(), 7, []])
async def test_wrong_audience(verifier: InvocationTokenVerifier, audience: object) -> None:
    await refused(verifier, sign(claims(aud=audience)), ForgeAuthFailure.WRONG_AUDIENCE)


async def test_an_audience_list_holding_our_app_passes(verifier: InvocationTokenVerifier) -> None:
    await verifier.verify(sign(claims(aud=[OTHER_APP_ID, APP_ID])), now=NOW)


async def test_app_id_claim_of_another_app(verifier: InvocationTokenVerifier) -> None:
    body = claims()
    body["app"]["id"] = OTHER_APP_ID
    await refused(verifier, sign(body), ForgeAuthFailure.WRONG_AUDIENCE)


@pytest.mark.parametrize("name", ["exp", "nbf", "iss", "aud"])
async def test_missing_claims(verifier: InvocationTokenVerifier, name: str) -> None:
    body = claims()
    del body[name]
    await refused(verifier, sign(body), ForgeAuthFailure.MISSING_CLAIM)


@pytest.mark.parametrize("path", [("app",), ("app", "installationId"), ("app", "apiBaseUrl")])
async def test_missing_app_claims(verifier: InvocationTokenVerifier, path: tuple[str, ...]) -> None:
    body = claims()
    holder = body
    for name in path[:-1]:
        holder = holder[name]
    del holder[path[-1]]
    await refused(verifier, sign(body), ForgeAuthFailure.MISSING_CLAIM)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("installationId", "ari:cloud:ecosystem::installation/not-a-uuid"),
        ("installationId", 7),
        ("apiBaseUrl", "javascript:alert(1)"),
        ("apiBaseUrl", "https://user:pw@api.atlassian.com/ex/jira/x"),
        ("apiBaseUrl", "https://api.atlassian.com/ex/jira/x?next=evil"),
        ("id", "not-an-app"),
    ],
)
async def test_malformed_app_claims(
    verifier: InvocationTokenVerifier, name: str, value: object
) -> None:
    body = claims()
    body["app"][name] = value
    await refused(verifier, sign(body), ForgeAuthFailure.INVALID_CLAIM)


@pytest.mark.parametrize("principal", ["has space", "x" * 129, 7, ""])
async def test_malformed_principal(verifier: InvocationTokenVerifier, principal: object) -> None:
    await refused(verifier, sign(claims(principal=principal)), ForgeAuthFailure.INVALID_CLAIM)


async def test_a_malformed_issue_key_in_the_context(verifier: InvocationTokenVerifier) -> None:
    await refused(verifier, sign(claims(issue="demo one")), ForgeAuthFailure.INVALID_CLAIM)


async def test_plain_http_api_base_url_is_refused_in_production(
    fetcher: MemoryJwksFetcher,
) -> None:
    production = InvocationTokenVerifier(
        ForgeKeys(fetcher, JWKS_URL, clock=Ticking()), APP_ID, production=True
    )
    body = claims()
    body["app"]["apiBaseUrl"] = "http://api.atlassian.com/ex/jira/" + CLOUD_ID
    await refused(production, sign(body), ForgeAuthFailure.INVALID_CLAIM)


# -- times --------------------------------------------------------------------------------


async def test_expired(verifier: InvocationTokenVerifier) -> None:
    old = NOW - timedelta(seconds=25) - LEEWAY - timedelta(seconds=1)
    await refused(verifier, sign(claims(now=old)), ForgeAuthFailure.EXPIRED)


async def test_expired_within_the_leeway_passes(verifier: InvocationTokenVerifier) -> None:
    recent = NOW - timedelta(seconds=25) - LEEWAY + timedelta(seconds=2)
    await verifier.verify(sign(claims(now=recent)), now=NOW)


async def test_future_nbf(verifier: InvocationTokenVerifier) -> None:
    later = NOW + LEEWAY + timedelta(seconds=2)
    body = claims(nbf=stamp(later), exp=stamp(later + timedelta(seconds=25)))
    await refused(verifier, sign(body), ForgeAuthFailure.NOT_YET_VALID)


@pytest.mark.parametrize("value", ["1700000000", True, [1]])
async def test_times_that_are_not_numbers(verifier: InvocationTokenVerifier, value: object) -> None:
    body = claims()
    body["exp"] = value
    await refused(verifier, sign(body), ForgeAuthFailure.INVALID_CLAIM)


async def test_an_infinite_expiry_is_not_json(verifier: InvocationTokenVerifier) -> None:
    text = json.dumps({**claims(), "exp": 0}).replace('"exp": 0', '"exp": Infinity')
    token = sign_raw({"alg": "RS256", "kid": KID}, text)
    await refused(verifier, token, ForgeAuthFailure.MALFORMED_TOKEN)


# -- the payload ------------------------------------------------------------------------


async def test_a_tampered_payload(verifier: InvocationTokenVerifier) -> None:
    genuine = sign(claims())
    header, _, signature = genuine.split(".")
    body = claims()
    body["app"]["installationId"] = INSTALLATION.replace("0a3a", "ffff")
    forged_body = raw_input({}, body).split(".")[1]
    await refused(verifier, f"{header}.{forged_body}.{signature}", ForgeAuthFailure.BAD_SIGNATURE)


async def test_a_principal_swapped_in_the_payload(verifier: InvocationTokenVerifier) -> None:
    genuine = sign(claims())
    header, _, signature = genuine.split(".")
    forged = raw_input({}, claims(principal="attacker-account")).split(".")[1]
    await refused(verifier, f"{header}.{forged}.{signature}", ForgeAuthFailure.BAD_SIGNATURE)


async def test_duplicate_claim_names_are_refused_even_when_signed(
    verifier: InvocationTokenVerifier,
) -> None:
    text = json.dumps(claims())[:-1] + ', "aud": "' + OTHER_APP_ID + '"}'
    token = sign_raw({"alg": "RS256", "kid": KID}, text)
    await refused(verifier, token, ForgeAuthFailure.MALFORMED_TOKEN)


@pytest.mark.parametrize(
    "token",
    ["abc", "a.b", "a.b.c.d", "###.###.###", "a" * 20000 + ".b.c", "bm90anNvbg.e30.c2ln"],
)
async def test_malformed_tokens(verifier: InvocationTokenVerifier, token: str) -> None:
    await refused(verifier, token, ForgeAuthFailure.MALFORMED_TOKEN)


async def test_a_body_that_is_not_an_object(verifier: InvocationTokenVerifier) -> None:
    token = sign_raw({"alg": "RS256", "kid": KID}, "[1, 2]")
    await refused(verifier, token, ForgeAuthFailure.MALFORMED_TOKEN)
