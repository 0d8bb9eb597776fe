"""The simulator refuses the app's requests exactly when Jira would."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, JiraSimulator
from agiletoolbox.simulator.qsh import query_string_hash
from agiletoolbox.simulator.tokens import encode_hs256
from tests.simulator.restkit import APP_KEY, app_token, call

PATH = "/rest/api/3/issue/DEMO-1/editmeta"


@pytest.fixture(autouse=True)
def installed(jira: JiraSimulator) -> None:
    jira.register_installation("acme", APP_KEY)
    jira.register_installation("globex", APP_KEY)


def _claims(jira: JiraSimulator, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": APP_KEY,
        "iat": now,
        "exp": now + 180,
        "qsh": query_string_hash("GET", "/sites/acme" + PATH, "/sites/acme"),
    }
    claims.update(changes)
    return claims


def _secret(jira: JiraSimulator, site: str = "acme") -> str:
    return jira.site(site).installation(APP_KEY).shared_secret


async def _refused(
    jira: JiraSimulator, http: aiohttp.ClientSession, token: str | None, reason: str
) -> None:
    answer = await call(http, jira, "GET", PATH, token=token, sign=False)
    assert answer.status == 401
    assert answer.body == {
        "message": "Client must be authenticated to access this resource.",
        "status-code": 401,
    }
    assert answer.headers["WWW-Authenticate"].startswith("JWT")
    record = jira.recorder.requests[-1]
    assert (record.jwt_valid, record.failure) == (False, reason)


async def test_a_genuine_request_passes(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    answer = await call(http, jira, "GET", PATH, token=encode_hs256(_claims(jira), _secret(jira)))
    assert answer.status == 200


async def test_no_token(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    await _refused(jira, http, None, "missing token")


async def test_wrong_secret(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    await _refused(jira, http, encode_hs256(_claims(jira), "not the secret"), "signature")


async def test_another_sites_secret(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    token = encode_hs256(_claims(jira), _secret(jira, "globex"))
    await _refused(jira, http, token, "signature")


async def test_client_key_as_issuer(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    token = encode_hs256(_claims(jira, iss=jira.site("acme").client_key), _secret(jira))
    await _refused(jira, http, token, "unknown issuer")


async def test_token_for_another_request(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    url = jira.site("acme").base_url + "/rest/api/3/issue/DEMO-2/editmeta"
    await _refused(jira, http, app_token(jira, "GET", url), "qsh")


async def test_token_for_another_method(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    url = jira.site("acme").base_url + PATH
    await _refused(jira, http, app_token(jira, "PUT", url), "qsh")


async def test_qsh_relative_to_the_origin_instead_of_the_site(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    qsh = query_string_hash("GET", "/sites/acme" + PATH)
    await _refused(jira, http, encode_hs256(_claims(jira, qsh=qsh), _secret(jira)), "qsh")


async def test_context_token(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    token = encode_hs256(_claims(jira, qsh="context-qsh"), _secret(jira))
    await _refused(jira, http, token, "context qsh")


async def test_expired(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    now = int(time.time())
    token = encode_hs256(_claims(jira, iat=now - 400, exp=now - 60), _secret(jira))
    await _refused(jira, http, token, "expired")


async def test_long_lived(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    token = encode_hs256(_claims(jira, exp=int(time.time()) + 86400), _secret(jira))
    await _refused(jira, http, token, "lifetime too long")


async def test_tampered(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    header, claims, signature = encode_hs256(_claims(jira), _secret(jira)).split(".")
    await _refused(jira, http, f"{header}.{claims}.{signature[:-4]}AAAA", "signature")


async def test_wrong_audience(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    token = encode_hs256(_claims(jira, aud=["someone-else"]), _secret(jira))
    await _refused(jira, http, token, "audience")


async def test_the_client_key_as_audience_is_fine(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    token = encode_hs256(_claims(jira, aud=[jira.site("acme").client_key]), _secret(jira))
    assert (await call(http, jira, "GET", PATH, token=token)).status == 200


async def test_a_disabled_app_is_refused(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    jira.site("acme").installation(APP_KEY).state = "disabled"
    await _refused(jira, http, encode_hs256(_claims(jira), _secret(jira)), "unknown issuer")


async def test_a_page_token_is_not_an_app_token(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    token = jira.context_token("acme", user=ALICE, issue="DEMO-1")
    await _refused(jira, http, token, "unknown issuer")


async def test_token_in_the_query_is_accepted(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    token = encode_hs256(_claims(jira), _secret(jira))
    answer = await call(http, jira, "GET", f"{PATH}?jwt={token}", sign=False)
    assert answer.status == 200


async def test_token_in_query_and_header_is_refused(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    token = encode_hs256(_claims(jira), _secret(jira))
    answer = await call(http, jira, "GET", f"{PATH}?jwt={token}", token=token)
    assert answer.status == 401
    assert jira.recorder.requests[-1].failure == "ambiguous token"
