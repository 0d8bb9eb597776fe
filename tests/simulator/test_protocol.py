"""The simulator's own qsh and JWT checks: the reference vectors, agreement, refusals."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.adapters.connect import qsh as app_qsh
from agiletoolbox.adapters.connect.outgoing import mint_outgoing_token
from agiletoolbox.simulator.qsh import canonical_request, query_string_hash
from agiletoolbox.simulator.tokens import (
    TokenPolicy,
    TokenRejected,
    encode_hs256,
    verify_request_token,
)

SECRET = "simulated-shared-secret-" + "0123456789abcdef" * 4
APP_KEY = "agile-toolbox"
SITE = "http://127.0.0.1:9999/sites/acme"
TARGET = "/sites/acme/rest/api/3/issue/DEMO-1?fields=customfield_10016"
NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("method", "target", "base", "canonical"),
    [
        ("GET", "/path", "", "GET&/path&"),
        ("GET", "/", "", "GET&/&"),
        ("GET", "", "", "GET&/&"),
        ("GET", "/some/path/?param=value", "", "GET&/some/path&param=value"),
        (
            "GET",
            "/path/to/service?zee_last=param&repeated=parameter 1&first=param"
            "&repeated=parameter 2&repeated=Parameter 2",
            "",
            "GET&/path/to/service&first=param&repeated=Parameter%202,parameter%201,"
            "parameter%202&zee_last=param",
        ),
        ("GET", "/base/path/to/service", "/base", "GET&/path/to/service&"),
        ("POST", "/rest/api/2/project&a=b?x=y", "", "POST&/rest/api/2/project%26a=b&x=y"),
        (
            "POST",
            "/rest/api/2/project&a=b&c=d?x=y",
            "",
            "POST&/rest/api/2/project%26a=b%26c=d&x=y",
        ),
        ("GET", "/jira/rest/api/2/project/jira?x=y", "/jira", "GET&/rest/api/2/project/jira&x=y"),
        ("GET", "/hello-world?a&b=foo&c", "", "GET&/hello-world&a=&b=foo&c="),
        ("GET", "/p?jwt=abc&b=1", "", "GET&/p&b=1"),
        ("GET", "/p?tz=Europe%2FBerlin&q=a+b", "", "GET&/p&q=a%20b&tz=Europe%2FBerlin"),
    ],
)
def test_canonical_requests_of_the_reference(
    method: str, target: str, base: str, canonical: str
) -> None:
    assert canonical_request(method, target, base) == canonical


def test_reference_hashes() -> None:
    assert query_string_hash("GET", "/path") == (
        "799be84a7fa35570087163c0cd9af3abff7ac05c2c12ba0bb1d7eebc984b3ac2"
    )
    assert query_string_hash("GET", "/") == (
        "c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239"
    )
    assert query_string_hash("POST", "/app/report-accounts/") == (
        "d0fd353aa20b3a57b91182f183e74affcb3454d27ffb586bbaf2485a6cbdabd3"
    )


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
_SEGMENT = st.text(alphabet="abcXYZ09-._~&%20+@", min_size=1, max_size=6)


@given(
    method=st.sampled_from(["GET", "PUT", "POST"]),
    segments=st.lists(_SEGMENT, max_size=4),
    params=st.lists(st.tuples(_TEXT, _TEXT), max_size=5),
)
def test_the_simulator_agrees_with_the_app_on_every_request(
    method: str, segments: list[str], params: list[tuple[str, str]]
) -> None:
    """Two independent implementations of §4.3 hash the same request alike."""
    path = "/sites/acme/" + "/".join(segments)
    query = app_qsh.percent_encode
    raw_query = "&".join(f"{query(n)}={query(v)}" for n, v in params if n)
    target = path + (f"?{raw_query}" if raw_query else "")
    expected = app_qsh.canonical_request(
        method, path, app_qsh.parse_query(raw_query), base="/sites/acme"
    )
    assert canonical_request(method, target, "/sites/acme") == expected


# -- the verifier ---------------------------------------------------------------------------


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": APP_KEY,
        "iat": int(NOW),
        "exp": int(NOW) + 180,
        "qsh": query_string_hash("GET", TARGET, "/sites/acme"),
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _verify(token: str, *, now: float = NOW, method: str = "GET", target: str = TARGET) -> None:
    verify_request_token(
        token,
        secret=SECRET,
        issuer=APP_KEY,
        method=method,
        raw_target=target,
        base_path="/sites/acme",
        now=now,
    )


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_the_app_outgoing_token_verifies() -> None:
    token = mint_outgoing_token(
        app_key=APP_KEY,
        shared_secret=SECRET,
        method="GET",
        url="http://127.0.0.1:9999" + TARGET,
        tenant_base_url=SITE,
        now=datetime.fromtimestamp(NOW, UTC),
    )
    _verify(token)


def test_a_genuine_token_verifies() -> None:
    _verify(encode_hs256(_claims(), SECRET))


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param(encode_hs256(_claims(), "another secret"), "signature", id="wrong-secret"),
        pytest.param(encode_hs256(_claims(iss="client-key"), SECRET), "issuer", id="wrong-iss"),
        pytest.param(encode_hs256(_claims(iss=None), SECRET), "issuer", id="no-iss"),
        pytest.param(encode_hs256(_claims(qsh="0" * 64), SECRET), "qsh", id="wrong-qsh"),
        pytest.param(encode_hs256(_claims(qsh=None), SECRET), "missing qsh", id="no-qsh"),
        pytest.param(
            encode_hs256(_claims(qsh="context-qsh"), SECRET), "context qsh", id="context-qsh"
        ),
        pytest.param(
            encode_hs256(_claims(exp=int(NOW) - 31, iat=int(NOW) - 211), SECRET),
            "expired",
            id="expired",
        ),
        pytest.param(encode_hs256(_claims(exp=None), SECRET), "missing exp", id="no-exp"),
        pytest.param(encode_hs256(_claims(iat=None), SECRET), "missing iat", id="no-iat"),
        pytest.param(encode_hs256(_claims(exp=True), SECRET), "invalid exp", id="bool-exp"),
        pytest.param(
            encode_hs256(_claims(iat=int(NOW) + 60, exp=int(NOW) + 200), SECRET),
            "not yet valid",
            id="future-iat",
        ),
        pytest.param(
            encode_hs256(_claims(exp=int(NOW) + 3600), SECRET),
            "lifetime too long",
            id="long-lived",
        ),
        pytest.param(jwt.encode(_claims(), SECRET, algorithm="HS512"), "algorithm", id="hs512"),
        pytest.param(
            f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.", "algorithm", id="none"
        ),
        pytest.param(
            jwt.encode(_claims(), SECRET, algorithm="HS256", headers={"crit": ["x"]}),
            "crit",
            id="crit",
        ),
        pytest.param("not.a-token", "malformed", id="malformed"),
        pytest.param("a" * 9000, "malformed", id="huge"),
    ],
)
def test_refused_tokens(token: str, reason: str) -> None:
    with pytest.raises(TokenRejected) as refused:
        _verify(token)
    assert refused.value.reason == reason


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = encode_hs256(_claims(), SECRET).split(".")
    forged = _b64(_claims(iss=APP_KEY, exp=int(NOW) + 600))

    with pytest.raises(TokenRejected, match="signature"):
        _verify(f"{header}.{forged}.{signature}")


def test_a_token_for_another_request_is_refused() -> None:
    token = encode_hs256(_claims(), SECRET)

    with pytest.raises(TokenRejected, match="qsh"):
        _verify(token, method="PUT")
    with pytest.raises(TokenRejected, match="qsh"):
        _verify(token, target=TARGET.replace("DEMO-1", "DEMO-2"))


def test_leeway_is_thirty_seconds() -> None:
    token = encode_hs256(_claims(exp=int(NOW) - 29, iat=int(NOW) - 200), SECRET)
    _verify(token)
    policy = TokenPolicy(leeway=0)
    with pytest.raises(TokenRejected, match="expired"):
        verify_request_token(
            token,
            secret=SECRET,
            issuer=APP_KEY,
            method="GET",
            raw_target=TARGET,
            base_path="/sites/acme",
            now=NOW,
            policy=policy,
        )


def test_a_token_ten_seconds_old_verifies() -> None:
    now = time.time()
    token = encode_hs256(_claims(iat=int(now), exp=int(now) + 180), SECRET)
    _verify(token, now=now + timedelta(seconds=10).total_seconds())
