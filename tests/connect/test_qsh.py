"""The canonical request and query-string hash: reference vectors and properties."""

from __future__ import annotations

import random
import re
from urllib.parse import quote, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.adapters.connect.qsh import (
    QueryOrder,
    accepted_hashes,
    base_path,
    canonical_path,
    canonical_query,
    canonical_request,
    parse_query,
    percent_encode,
    qsh_for_url,
    query_string_hash,
    relative_path,
)

# -- the reference vectors (connect.md §4.3) ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "canonical", "qsh"),
    [
        (
            "GET",
            "/path",
            "",
            "GET&/path&",
            "799be84a7fa35570087163c0cd9af3abff7ac05c2c12ba0bb1d7eebc984b3ac2",
        ),
        (
            "GET",
            "",
            "",
            "GET&/&",
            "c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239",
        ),
        (
            "GET",
            "/",
            "",
            "GET&/&",
            "c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239",
        ),
        (
            "POST",
            "/app/report-accounts",
            "",
            "POST&/app/report-accounts&",
            "d0fd353aa20b3a57b91182f183e74affcb3454d27ffb586bbaf2485a6cbdabd3",
        ),
    ],
)
def test_reference_hashes(method: str, path: str, query: str, canonical: str, qsh: str) -> None:
    text = canonical_request(method, path, parse_query(query))
    assert text == canonical
    assert query_string_hash(text) == qsh


def test_sha256_of_foo() -> None:
    assert (
        query_string_hash("foo")
        == "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "base", "canonical"),
    [
        (
            "GET",
            "/path/to/service",
            "zee_last=param&repeated=parameter 1&first=param&repeated=parameter 2"
            "&repeated=Parameter 2",
            "",
            "GET&/path/to/service&first=param"
            "&repeated=Parameter%202,parameter%201,parameter%202&zee_last=param",
        ),
        ("GET", "/base/path/to/service", "", "/base", "GET&/path/to/service&"),
        ("POST", "/rest/api/2/project&a=b", "x=y", "", "POST&/rest/api/2/project%26a=b&x=y"),
        (
            "POST",
            "/rest/api/2/project&a=b&c=d",
            "x=y",
            "",
            "POST&/rest/api/2/project%26a=b%26c=d&x=y",
        ),
        (
            "GET",
            "/jira/rest/api/2/project/jira",
            "x=y",
            "/jira",
            "GET&/rest/api/2/project/jira&x=y",
        ),
        ("GET", "/hello-world", "a&b=foo&c", "", "GET&/hello-world&a=&b=foo&c="),
        ("get", "/some/path/", "param=value", "", "GET&/some/path&param=value"),
    ],
)
def test_reference_canonical_requests(
    method: str, path: str, query: str, base: str, canonical: str
) -> None:
    assert canonical_request(method, path, parse_query(query), base=base) == canonical


def test_base_url_path_is_removed_from_a_full_url() -> None:
    assert base_path("https://bitbucket.org/base") == "/base"
    assert base_path("https://bitbucket.org/base/") == "/base"
    assert base_path("https://bitbucket.org") == ""
    assert qsh_for_url(
        "GET", "https://bitbucket.org/base/path/to/service", "https://bitbucket.org/base"
    ) == query_string_hash("GET&/path/to/service&")


# -- the rules, one by one ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("a b", "a%20b"),
        ("+", "%2B"),
        ("*", "%2A"),
        ("~", "~"),
        ("/", "%2F"),
        (",", "%2C"),
        ("-._", "-._"),
        ("é", "%C3%A9"),
        ("😀", "%F0%9F%98%80"),
        ("!'()", "%21%27%28%29"),
    ],
)
def test_percent_encoding_is_rfc_3986(text: str, encoded: str) -> None:
    assert percent_encode(text) == encoded


def test_jwt_parameter_is_left_out() -> None:
    assert canonical_query(parse_query("a=1&jwt=abc.def.ghi&b=2")) == "a=1&b=2"
    assert canonical_query(parse_query("jwt=x")) == ""


def test_plus_is_a_space_and_valueless_parameters_are_empty() -> None:
    assert canonical_query(parse_query("q=a+b&flag&empty=")) == "empty=&flag=&q=a%20b"


def test_names_sort_by_code_point_upper_case_first() -> None:
    assert canonical_query(parse_query("b=1&a=1&B=1&A=1")) == "A=1&B=1&a=1&b=1"


def test_repeated_values_sort_by_encoded_value_as_documented() -> None:
    # ":" is 0x3A, after "0" raw but before it once encoded ("%3A").
    params = parse_query("a=0&a=%3A&a=z&a=%C3%A9")
    assert canonical_query(params) == "a=%3A,%C3%A9,0,z"
    assert canonical_query(params, QueryOrder.JAVA) == "a=0,%3A,z,%C3%A9"
    assert canonical_query(params, QueryOrder.JS) == "a=0,%3A,z,%C3%A9"


def test_names_sort_encoded_except_in_the_javascript_library() -> None:
    params = parse_query("a0=1&a%3A=1")
    assert canonical_query(params) == "a%3A=1&a0=1"
    assert canonical_query(params, QueryOrder.JAVA) == "a%3A=1&a0=1"
    assert canonical_query(params, QueryOrder.JS) == "a0=1&a%3A=1"


def test_raw_order_is_by_utf16_code_unit_like_java_and_javascript() -> None:
    # U+FF61 is above the surrogates by code point but a BMP character: UTF-16 puts the
    # astral U+1F600 (a surrogate pair starting 0xD83D) before it.
    params = [("a", "\uff61"), ("a", "\U0001f600")]
    assert canonical_query(params, QueryOrder.JAVA) == "a=%F0%9F%98%80,%EF%BD%A1"


@pytest.mark.parametrize(
    ("path", "base", "canonical"),
    [
        ("", "", "/"),
        ("/", "", "/"),
        ("//", "", "/"),
        ("/a/", "", "/a"),
        ("/a//", "", "/a/"),
        ("a", "", "/a"),
        ("/a&b", "", "/a%26b"),
        ("/a%26b", "", "/a%26b"),
        ("/base", "/base", "/"),
        ("/base/", "/base", "/"),
        ("/base/x", "/base/", "/x"),
        ("/basement", "/base", "/basement"),
        ("/other/x", "/base", "/other/x"),
    ],
)
def test_canonical_path(path: str, base: str, canonical: str) -> None:
    assert canonical_path(path, base) == canonical


def test_relative_path_removes_whole_segments_only() -> None:
    assert relative_path("/base/x", "/base") == "/x"
    assert relative_path("/basement", "/base") == "/basement"
    assert relative_path("/x", "") == "/x"


# -- what a verifier accepts ----------------------------------------------------------------


def test_accepted_hashes_cover_the_request_as_sent() -> None:
    accepted = accepted_hashes("GET", "/room", "issueKey=DEMO-1&jwt=x")
    assert qsh_for_url("GET", "/room?issueKey=DEMO-1", "") in accepted


def test_accepted_hashes_cover_the_decoded_path() -> None:
    accepted = accepted_hashes("GET", "/a%20b", "")
    assert query_string_hash("GET&/a%20b&") in accepted
    assert query_string_hash("GET&/a b&") in accepted


def test_accepted_hashes_cover_every_ordering() -> None:
    accepted = accepted_hashes("GET", "/p", "a=0&a=%3A")
    assert query_string_hash("GET&/p&a=%3A,0") in accepted
    assert query_string_hash("GET&/p&a=0,%3A") in accepted


def test_form_fields_stand_in_for_an_empty_query_on_post_and_put() -> None:
    form = (("x", "1"), ("jwt", "t"))
    for method in ("POST", "PUT", "post"):
        expected = query_string_hash(f"{method.upper()}&/p&x=1")
        assert expected in accepted_hashes(method, "/p", "", form=form)
        assert expected in accepted_hashes(method, "/p", "jwt=t", form=(("x", "1"),))


def test_form_fields_do_not_stand_in_for_a_query_or_on_get() -> None:
    form = (("x", "1"),)
    assert query_string_hash("POST&/p&x=1") not in accepted_hashes("POST", "/p", "y=2", form=form)
    assert query_string_hash("GET&/p&x=1") not in accepted_hashes("GET", "/p", "", form=form)


def test_a_different_request_is_not_accepted() -> None:
    accepted = accepted_hashes("GET", "/room", "issueKey=DEMO-1")
    for other in (
        "GET&/room&issueKey=DEMO-2",
        "POST&/room&issueKey=DEMO-1",
        "GET&/rooms&issueKey=DEMO-1",
        "GET&/room&",
        "GET&/room&issueKey=DEMO-1&x=",
    ):
        assert query_string_hash(other) not in accepted


# -- properties -----------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_params = st.lists(st.tuples(_text, _text), max_size=8)


@given(_text)
def test_percent_encoding_round_trips_and_uses_only_safe_characters(text: str) -> None:
    encoded = percent_encode(text)
    assert re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*", encoded)
    assert unquote(encoded, errors="strict") == text


@given(_params, st.randoms(use_true_random=False), st.sampled_from(QueryOrder))
def test_canonical_query_ignores_parameter_order(
    params: list[tuple[str, str]], rng: random.Random, order: QueryOrder
) -> None:
    shuffled = list(params)
    rng.shuffle(shuffled)
    assert canonical_query(shuffled, order) == canonical_query(params, order)


@given(_params, _text)
def test_the_jwt_parameter_never_changes_the_hash(
    params: list[tuple[str, str]], token: str
) -> None:
    assert canonical_query([*params, ("jwt", token)]) == canonical_query(
        [(n, v) for n, v in params if n != "jwt"]
    )


@given(_params)
def test_a_query_encoded_any_way_decodes_to_the_same_canonical_query(
    params: list[tuple[str, str]],
) -> None:
    with_percent = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in params)
    with_plus = with_percent.replace("%20", "+")
    expected = canonical_query(params)
    assert canonical_query(parse_query(with_percent)) == expected
    assert canonical_query(parse_query(with_plus)) == expected


@given(st.text(st.characters(codec="ascii", exclude_characters="?#"), max_size=30), _text)
def test_canonical_path_shape(path: str, base: str) -> None:
    canonical = canonical_path(path, base)
    assert canonical.startswith("/")
    assert "&" not in canonical
    assert canonical == "/" or not canonical.endswith("/")


@given(st.sampled_from(["GET", "POST", "PUT", "DELETE"]), _params)
def test_a_signed_request_is_accepted_as_received(
    method: str, params: list[tuple[str, str]]
) -> None:
    query = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in params)
    qsh = qsh_for_url(
        method, f"https://app.example.com/base/p?{query}", "https://app.example.com/base"
    )
    assert qsh in accepted_hashes(method, "/base/p", query, bases=["/base"])
