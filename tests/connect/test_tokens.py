"""Finding a token in a request and reading it as the hostile input it is."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.adapters.connect.errors import AuthFailure, ConnectAuthError
from agiletoolbox.adapters.connect.tokens import (
    MAX_TOKEN_LENGTH,
    ConnectRequest,
    account_of,
    check_times,
    context_of,
    extract_token,
    read_token,
)
from agiletoolbox.domain.ids import AccountId
from tests.connect.tokenkit import ACCOUNT_ID, NOW, context_claims, hs256, sign_raw, stamp

TOKEN = hs256(context_claims())


def _reason(excinfo: pytest.ExceptionInfo[ConnectAuthError]) -> AuthFailure:
    return excinfo.value.reason


# -- where the token comes from ------------------------------------------------------------


def test_token_from_the_query() -> None:
    request = ConnectRequest.from_target("GET", f"/room?a=1&jwt={TOKEN}")
    assert extract_token(request) == TOKEN


def test_token_from_a_form_field() -> None:
    request = ConnectRequest("POST", "/room", form=(("jwt", TOKEN), ("a", "1")))
    assert extract_token(request) == TOKEN


@pytest.mark.parametrize("scheme", ["JWT", "jwt", "Jwt"])
def test_token_from_the_authorization_header(scheme: str) -> None:
    request = ConnectRequest("GET", "/api", authorization=f"  {scheme} {TOKEN} ")
    assert extract_token(request) == TOKEN


def test_the_query_wins_over_the_header() -> None:
    request = ConnectRequest("GET", "/room", query=f"jwt={TOKEN}", authorization="JWT other")
    assert extract_token(request) == TOKEN


@pytest.mark.parametrize(
    "request_",
    [
        ConnectRequest("GET", "/room", query=f"jwt={TOKEN}&jwt={TOKEN}"),
        ConnectRequest("POST", "/room", query=f"jwt={TOKEN}", form=(("jwt", TOKEN),)),
        ConnectRequest("POST", "/room", form=(("jwt", TOKEN), ("jwt", "x"))),
    ],
)
def test_two_tokens_are_refused(request_: ConnectRequest) -> None:
    with pytest.raises(ConnectAuthError) as excinfo:
        extract_token(request_)
    assert _reason(excinfo) is AuthFailure.AMBIGUOUS_TOKEN


@pytest.mark.parametrize(
    "request_",
    [
        ConnectRequest("GET", "/room"),
        ConnectRequest("GET", "/room", query="jwt="),
        ConnectRequest("GET", "/room", authorization=f"Bearer {TOKEN}"),
        ConnectRequest("GET", "/room", authorization="JWT "),
        ConnectRequest("GET", "/room", authorization="JWT"),
        ConnectRequest("GET", "/room", authorization=TOKEN),
    ],
)
def test_no_token(request_: ConnectRequest) -> None:
    with pytest.raises(ConnectAuthError) as excinfo:
        extract_token(request_)
    assert _reason(excinfo) is AuthFailure.MISSING_TOKEN


def test_request_target_is_split_at_the_first_question_mark() -> None:
    request = ConnectRequest.from_target("get", "/a/b?x=1?2&y#frag")
    assert (request.method, request.path, request.query) == ("get", "/a/b", "x=1?2&y")


def test_the_repr_of_a_request_never_shows_a_token() -> None:
    request = ConnectRequest.from_target(
        "POST", f"/room?jwt={TOKEN}", authorization=f"JWT {TOKEN}", form=[("jwt", TOKEN)]
    )
    assert TOKEN not in repr(request)
    assert TOKEN[:20] not in repr(request)


# -- reading the token -------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(header: bytes, payload: bytes) -> str:
    return f"{_b64(header)}.{_b64(payload)}.{_b64(b'sig')}"


HEADER = json.dumps({"alg": "HS256", "typ": "JWT"}).encode()
PAYLOAD = json.dumps({"iss": "x"}).encode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a.a.a",
        "abcde.abcd.x",
        "a b.c.d",
        "###.###.###",
        _raw(HEADER, PAYLOAD) + "=",
        _raw(b"not json", PAYLOAD),
        _raw(HEADER, b"not json"),
        _raw(b"[1, 2]", PAYLOAD),
        _raw(HEADER, b'"a string"'),
        _raw(HEADER, b'{"iss": "a", "iss": "b"}'),
        _raw(b'{"alg": "HS256", "alg": "none"}', PAYLOAD),
        _raw(HEADER, b'{"exp": NaN}'),
        _raw(HEADER, b'{"exp": Infinity}'),
        _raw(HEADER, b"\xff\xfe{}"),
        _raw(HEADER, b"[" * 5000 + b"]" * 5000),
        _raw(HEADER, b'{"a": ' * 2000 + b"1" + b"}" * 2000),
        "x" * (MAX_TOKEN_LENGTH + 1),
        _raw(HEADER, json.dumps({"pad": "x" * MAX_TOKEN_LENGTH}).encode()),
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(ConnectAuthError) as excinfo:
        read_token(token)
    assert _reason(excinfo) is AuthFailure.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "crit": ["exp"]},
        {"alg": "HS256", "crit": []},
        {"alg": "HS256", "b64": False, "crit": ["b64"]},
    ],
)
def test_processing_headers_are_refused(header: dict[str, object]) -> None:
    with pytest.raises(ConnectAuthError) as excinfo:
        read_token(sign_raw(header, {"iss": "x"}))
    assert _reason(excinfo) is AuthFailure.UNSUPPORTED_HEADER


@given(st.text(max_size=300))
def test_any_text_is_read_or_refused_cleanly(text: str) -> None:
    with contextlib.suppress(ConnectAuthError):
        read_token(text)


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_any_segments_are_read_or_refused_cleanly(header: bytes, payload: bytes) -> None:
    with contextlib.suppress(ConnectAuthError):
        read_token(_raw(header, payload))


# -- claims ----------------------------------------------------------------------------------

START = stamp(NOW)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iat": START}, AuthFailure.MISSING_CLAIM),
        ({"exp": START + 60}, AuthFailure.MISSING_CLAIM),
        ({"iat": START, "exp": None}, AuthFailure.MISSING_CLAIM),
        ({"iat": START, "exp": "tomorrow"}, AuthFailure.INVALID_CLAIM),
        ({"iat": START, "exp": True}, AuthFailure.INVALID_CLAIM),
        ({"iat": [START], "exp": START + 60}, AuthFailure.INVALID_CLAIM),
        ({"iat": START, "exp": 1e400}, AuthFailure.INVALID_CLAIM),
        ({"iat": START, "exp": START - 31}, AuthFailure.EXPIRED),
        ({"iat": START, "exp": START - 30}, AuthFailure.EXPIRED),
        ({"iat": START + 31, "exp": START + 60}, AuthFailure.NOT_YET_VALID),
        ({"iat": START, "exp": START + 60, "nbf": START + 31}, AuthFailure.NOT_YET_VALID),
        ({"iat": START, "exp": START + 60, "nbf": "soon"}, AuthFailure.INVALID_CLAIM),
    ],
)
def test_times_are_required_and_checked_with_30_seconds_leeway(
    claims: dict[str, object], reason: AuthFailure
) -> None:
    with pytest.raises(ConnectAuthError) as excinfo:
        check_times(claims, NOW)
    assert _reason(excinfo) is reason


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": START, "exp": START - 29},
        {"iat": START + 29, "exp": START + 60},
        {"iat": START, "exp": START + 60, "nbf": START + 29},
        {"iat": START - 1.5, "exp": START + 0.5},
    ],
)
def test_times_within_the_leeway_pass(claims: dict[str, object]) -> None:
    assert check_times(claims, NOW) > NOW - timedelta(seconds=30)


def test_a_token_that_lives_longer_than_jiras_do_is_refused() -> None:
    with pytest.raises(ConnectAuthError) as refused:
        check_times({"iat": START, "exp": 10**20}, NOW)
    assert refused.value.reason is AuthFailure.INVALID_CLAIM
    with pytest.raises(ConnectAuthError):
        check_times({"iat": START, "exp": START + 3601}, NOW)


def test_the_user_is_sub_or_the_context_account() -> None:
    user = AccountId(ACCOUNT_ID)
    context = {"context": {"user": {"accountId": ACCOUNT_ID}}}
    assert account_of({"sub": ACCOUNT_ID}) == user
    assert account_of(context) == user
    assert account_of({"sub": ACCOUNT_ID, **context}) == user
    assert account_of({}) is None
    assert account_of({"context": {"user": {}}}) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": ACCOUNT_ID, "context": {"user": {"accountId": "someone-else"}}},
        {"sub": 42},
        {"sub": "has space"},
        {"sub": "x" * 129},
        {"context": {"user": {"accountId": ["x"]}}},
    ],
)
def test_odd_users_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(ConnectAuthError) as excinfo:
        account_of(claims)
    assert _reason(excinfo) is AuthFailure.INVALID_CLAIM


def test_the_jira_context_is_read_when_sane() -> None:
    context = context_of(context_claims())
    numeric = context_of({"context": {"jira": {"issue": {"id": 10007}}}})
    assert numeric.issue_id == "10007"
    assert str(context.issue_key) == "DEMO-7"
    assert (context.issue_id, context.issuetype_id) == ("10007", "10001")
    assert (context.project_key, context.project_id) == ("DEMO", "10000")


@pytest.mark.parametrize(
    "context",
    [None, "text", [], {"jira": "x"}, {"jira": {"issue": {"key": "not a key", "id": {}}}}],
)
def test_an_odd_context_is_left_out(context: object) -> None:
    parsed = context_of({"context": context})
    assert parsed.issue_key is None
    assert parsed.issue_id is None


def test_now_must_carry_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        check_times({"iat": START, "exp": START + 60}, NOW.replace(tzinfo=None))
