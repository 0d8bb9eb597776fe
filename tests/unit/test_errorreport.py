"""Error reports: what scrub removes, what it keeps, capture's limits, and scrub properties."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.domain.errorreport import (
    MAX_MESSAGE_LENGTH,
    MAX_WHERE_LENGTH,
    REDACTED,
    ErrorReport,
    scrub,
)
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import TenantKey

NOW = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJpc3MiOiJqaXJhOjEyMzQiLCJxc2giOiJhYmMifQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
ACCOUNT_UUID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
ACCOUNT_HEX = "5b10ac8d82e05b22cc7d4ef5"
ACCOUNT_QM = "qm:a880a4ee-e5a8-4d4f-9a7b-55a1f0a7b5b9:d4b3b5b8-40b5-4e4c-a4c5-0a2c3c4e5f60"


# -- what scrub removes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GET /room?jwt={JWT}&lic=none", f"GET /room?jwt={REDACTED}&lic=none"),
        (f"token {JWT} rejected", f"token {REDACTED} rejected"),
        (f"Authorization: JWT {JWT}", f"Authorization: {REDACTED}"),
        ("authorization: Bearer abc.def-ghi", f"authorization: {REDACTED}"),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: {REDACTED}"),
        ('{"Authorization": "Bearer x1y2z3"}', f'{{"Authorization": "{REDACTED}"}}'),
        ("sent Bearer 0123456789abcdef to Jira", f"sent Bearer {REDACTED} to Jira"),
        ("JWT eyJhbGciOiJub25lIn0.e30. was unsigned", f"JWT {REDACTED} was unsigned"),
        ("/api/rooms/r1/live?ticket=tk-77aa&v=3", f"/api/rooms/r1/live?ticket={REDACTED}&v=3"),
        ("?access_token=ya29.a0Af&x=1", f"?access_token={REDACTED}&x=1"),
        ("secret=hunter2", f"secret={REDACTED}"),
        ("password = 'p4ss word'", f"password = '{REDACTED}'"),
        (
            '{"sharedSecret": "s3cr3t", "key": "app"}',
            f'{{"sharedSecret": "{REDACTED}", "key": "app"}}',
        ),
        ("{'shared_secret': 'abc'}", f"{{'shared_secret': '{REDACTED}'}}"),
        ('"sharedSecret":"cut-off', f'"sharedSecret":"{REDACTED}'),
        ('"token": "with \\" quote"', f'"token": "{REDACTED}"'),
        ("x-forge-oauth-system: abc123", f"x-forge-oauth-system: {REDACTED}"),
        ("Cookie: session=abc", f"Cookie: {REDACTED}"),
        ("https://admin:pa$$@db.internal/x", f"https://{REDACTED}db.internal/x"),
        ("https://admin:pw@db.internal/x", f"https://{REDACTED}/x"),
        (f"user {ACCOUNT_UUID} left", f"user {REDACTED} left"),
        (f"user {ACCOUNT_HEX} left", f"user {REDACTED} left"),
        (f"user {ACCOUNT_HEX.upper()} left", f"user {REDACTED} left"),
        (f"user {ACCOUNT_QM} left", f"user {REDACTED} left"),
        ("mail to jane.doe+poker@example.co.uk failed", f"mail to {REDACTED} failed"),
        ("<jörg@exämple.de>", f"<{REDACTED}>"),
        ("key 0123456789abcdef0123456789abcdef end", f"key {REDACTED} end"),
        ("key q8Z3vN1xR7tY2mK9pL4wA6sD0fG5hJ3c end", f"key {REDACTED} end"),
        ("key c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3OA== end", f"key {REDACTED} end"),
        ("key ab+c/DEf8/ghIJ9kLmN0/pQrsT1+uVwxYz2== end", f"key {REDACTED} end"),
    ],
)
def test_scrub_removes(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_scrub_removes_given_secrets_and_account_ids_verbatim() -> None:
    text = "failed for tenant-secret-xyz and user acc_42 (acc_42 again), xyz"
    assert scrub(text, secrets=["tenant-secret-xyz"], account_ids=["acc_42"]) == (
        f"failed for {REDACTED} and user {REDACTED} ({REDACTED} again), xyz"
    )


def test_overlapping_occurrences_leave_nothing_behind() -> None:
    assert scrub("aaaaa", secrets=["aa"]) == REDACTED
    assert scrub("ab-ababa-ab", secrets=["aba"]) == f"ab-{REDACTED}-ab"


def test_needles_that_are_part_of_the_marker_are_ignored() -> None:
    # Such strings could never be removed: every marker would bring them back.
    assert scrub("red dact", secrets=["dact", "", "red"]) == "red dact"


def test_a_match_exposed_by_redacting_is_redacted_too() -> None:
    # The hex id touches the secret; only once the secret is gone does it stand alone.
    assert scrub(f"tok3n{ACCOUNT_HEX}", secrets=["tok3n"]) == REDACTED * 2


def test_scrub_always_ends_even_on_a_needle_that_the_marker_keeps_rebuilding() -> None:
    # Each pass turns "d]x" into a marker ending in "d]" before the next "x": the pass cap
    # stops it, and nothing of the original text beyond the marker's own letters is left.
    text = REDACTED + "x" * 50
    scrubbed = scrub(text, secrets=["d]x"])
    assert scrubbed.startswith("[redacte[redacte")
    assert scrubbed.count("x") < 50


# -- what scrub keeps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'File "/work/main/src/agiletoolbox/services/installation_lifecycle.py", line 88, in run',
        'File "/usr/lib/python3.11/site-packages/aiohttp/web_protocol.py", line 452',
        "GET https://acme.atlassian.net/rest/api/3/issue/DEMO-1/editmeta returned 404",
        "JWT signature invalid",
        "the bearer of bad news",
        "Basic authentication is not supported",
        "if token == expected:",
        "if token != expected:",
        "field customfield_10016 is not on the screen (issue DEMO-12)",
        "room 3f2a9c0d-1b4e-4f6a-9c8d-7e6f5a4b3c2d was removed",
        "AGILETOOLBOX_RETENTION_UNINSTALLED_DAYS must be a number",
        "x" * 300,
        "12345678901234567890123456789012345",
        "abcdefabcdefabcdefabcdefabcdefabcdef",  # hex letters only: a word, not a hash
        "",
        f"already {REDACTED} here",
    ],
)
def test_scrub_keeps_what_helps_debugging(text: str) -> None:
    assert scrub(text) == text


# -- capture -----------------------------------------------------------------------------------


def test_capture_scrubs_where_and_message() -> None:
    report = ErrorReport.capture(
        where=f'File "/app/x.py", line 3\n  verify(jwt="{JWT}")',
        message=f"Jira refused the token of {ACCOUNT_HEX} (secret tenant-s3cret)",
        code="jira_401",
        now=NOW,
        tenant=TenantKey("site-1"),
        secrets=["tenant-s3cret"],
    )
    assert JWT not in report.where
    assert "tenant-s3cret" not in report.message
    assert ACCOUNT_HEX not in report.message
    assert report.where.startswith('File "/app/x.py", line 3')
    assert (report.code, report.at, report.tenant) == ("jira_401", NOW, TenantKey("site-1"))
    assert len(report.id) == 32


def test_capture_takes_one_pass_over_iterators() -> None:
    report = ErrorReport.capture(
        where="where s1 a1",
        message="message s1 a1",
        code="boom",
        now=NOW,
        secrets=iter(["s1"]),
        account_ids=iter(["a1"]),
    )
    assert (report.where, report.message) == (
        f"where {REDACTED} {REDACTED}",
        f"message {REDACTED} {REDACTED}",
    )


def test_capture_caps_lengths_after_scrubbing() -> None:
    long_trace = "frame\n" * 5000
    report = ErrorReport.capture(where=long_trace, message="m" * 5000, code="x", now=NOW)
    assert len(report.where) == MAX_WHERE_LENGTH
    assert len(report.message) == MAX_MESSAGE_LENGTH
    assert report.where.endswith("…")
    # A secret right at the limit is gone before the cut, not cut in half.
    secret = "ZZ-secret-value-ZZ"
    message = "m" * (MAX_MESSAGE_LENGTH - 5) + secret
    report = ErrorReport.capture(where="", message=message, code="x", now=NOW, secrets=[secret])
    assert "ZZ-s" not in report.message


def test_capture_keeps_short_texts_and_replaces_nul() -> None:
    report = ErrorReport.capture(where="a\x00b", message="ok", code="x", now=NOW)
    assert (report.where, report.message) == ("a\ufffdb", "ok")


@pytest.mark.parametrize("code", ["", "has space", "x" * 65, f"token={JWT}", "ünï"])
def test_capture_keeps_an_odd_code_as_error(code: str) -> None:
    assert ErrorReport.capture(where="", message="", code=code, now=NOW).code == "error"


def test_capture_uses_a_given_id_and_needs_an_aware_time() -> None:
    report = ErrorReport.capture(where="", message="", code="E1", now=NOW, report_id="r-1")
    assert report.id == "r-1"
    with pytest.raises(InvalidValue):
        ErrorReport.capture(where="", message="", code="E1", now=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "change",
    [
        {"id": ""},
        {"id": "has space"},
        {"where": "w" * (MAX_WHERE_LENGTH + 1)},
        {"message": "m" * (MAX_MESSAGE_LENGTH + 1)},
        {"message": "nul\x00"},
        {"code": ""},
        {"code": "a b"},
        {"where": 3},
    ],
)
def test_a_stored_report_is_checked_when_loaded(change: dict[str, object]) -> None:
    fields: dict[str, object] = {"id": "r1", "at": NOW, "where": "", "message": "", "code": "c"}
    fields.update(change)
    with pytest.raises(InvalidValue):
        ErrorReport(**fields)  # type: ignore[arg-type]


# -- properties --------------------------------------------------------------------------------

B64URL = string.ascii_letters + string.digits + "-_"
SEPARATORS = st.sampled_from([" ", "\n", ", ", "; ", " (", ") ", "\t", " | ", "="])
NOISE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JWTS = st.builds(
    lambda header, claims, signature: ".".join(
        [b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), signature]
    ),
    st.fixed_dictionaries(
        {"alg": st.sampled_from(["HS256", "RS256", "none"]), "typ": st.just("JWT")}
    ),
    st.dictionaries(st.text(max_size=8), st.text(max_size=20) | st.integers(), max_size=4),
    st.binary(max_size=64).map(b64url),
)
UUIDS = st.uuids().map(str)
ACCOUNT_IDS = st.one_of(
    UUIDS.map(lambda u: f"557058:{u}"),
    st.text("0123456789abcdef", min_size=24, max_size=24),
    st.tuples(UUIDS, UUIDS).map(lambda pair: f"qm:{pair[0]}:{pair[1]}"),
)
SECRETS = st.text(string.ascii_letters + string.digits + "-_+/=.~!#$%^&*", min_size=8, max_size=64)


@st.composite
def embedded(draw: st.DrawFn, items: st.SearchStrategy[str]) -> tuple[str, list[str]]:
    """Random text with drawn items spliced in between separators."""
    chosen = draw(st.lists(items, min_size=1, max_size=4))
    pieces = [draw(NOISE)]
    for item in chosen:
        pieces += [draw(SEPARATORS), item, draw(SEPARATORS), draw(NOISE)]
    return "".join(pieces), chosen


@given(embedded(JWTS))
def test_no_jwt_survives(case: tuple[str, list[str]]) -> None:
    text, tokens = case
    scrubbed = scrub(text)
    for token in tokens:
        assert token not in scrubbed
        assert token.split(".")[0] not in scrubbed


@given(embedded(ACCOUNT_IDS))
def test_no_account_id_shape_survives(case: tuple[str, list[str]]) -> None:
    text, accounts = case
    scrubbed = scrub(text)
    for account in accounts:
        assert account not in scrubbed


@given(st.lists(st.tuples(NOISE, SECRETS | ACCOUNT_IDS), min_size=1, max_size=5), NOISE)
def test_no_given_secret_or_account_id_survives_anywhere(
    parts: list[tuple[str, str]], tail: str
) -> None:
    # Spliced without separators: the verbatim rule alone must catch every one.
    text = "".join(noise + needle for noise, needle in parts) + tail
    needles = [needle for _, needle in parts]
    scrubbed = scrub(text, secrets=needles[::2], account_ids=needles[1::2])
    for needle in needles:
        assert needle not in scrubbed


@given(NOISE | st.text(), st.lists(SECRETS | ACCOUNT_IDS, max_size=3))
def test_scrub_is_idempotent(text: str, needles: list[str]) -> None:
    once = scrub(text, secrets=needles)
    assert scrub(once, secrets=needles) == once


@given(embedded(JWTS | ACCOUNT_IDS | SECRETS))
def test_scrubbing_scrubbed_text_changes_nothing(case: tuple[str, list[str]]) -> None:
    text, needles = case
    once = scrub(text, secrets=needles)
    assert scrub(once, secrets=needles) == once
    assert scrub(once) == once or REDACTED in once


def test_a_stack_names_frames_and_types_never_messages() -> None:
    from agiletoolbox.services.errors import stack_of

    def store(value: str) -> None:
        raise ValueError(value)

    def handle(value: str) -> None:
        try:
            store(value)
        except ValueError as error:
            raise RuntimeError(value.upper()) from error

    typed = "Jane Roe <jane.roe@example.com>"
    try:
        handle(typed)
    except RuntimeError as error:
        stack = stack_of(error)
    assert "Jane" not in stack
    assert "JANE" not in stack
    assert "in store" in stack
    assert "in handle" in stack
    assert stack.index("builtins.ValueError") < stack.index("builtins.RuntimeError")


def test_equal_reports_share_a_fingerprint() -> None:
    def report(where: str, tenant: TenantKey | None) -> ErrorReport:
        return ErrorReport.capture(where=where, message="m", code="C", now=NOW, tenant=tenant)

    site = TenantKey("site-a")
    assert report("a", site).fingerprint == report("a", site).fingerprint
    assert report("a", site).fingerprint != report("b", site).fingerprint
    assert report("a", site).fingerprint != report("a", None).fingerprint
