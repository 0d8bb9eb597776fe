"""Tokens the app signs for its own requests to Jira (connect.md §5.1)."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from agiletoolbox.adapters.connect.outgoing import mint_outgoing_token, outgoing_authorization
from agiletoolbox.adapters.connect.qsh import query_string_hash
from tests.connect.tokenkit import NOW, SECRET, stamp

SITE = "https://acme.atlassian.net"


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )
    return claims


def mint(method: str, url: str, site: str = SITE) -> str:
    return mint_outgoing_token(
        app_key="agile-toolbox",
        shared_secret=SECRET,
        method=method,
        url=url,
        tenant_base_url=site,
        now=NOW,
    )


def test_claims_of_an_outgoing_token() -> None:
    token = mint("put", f"{SITE}/rest/api/3/issue/PK-1?notifyUsers=false")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert _claims(token) == {
        "iss": "agile-toolbox",
        "iat": stamp(NOW),
        "exp": stamp(NOW + timedelta(minutes=3)),
        "qsh": query_string_hash("PUT&/rest/api/3/issue/PK-1&notifyUsers=false"),
    }


def test_the_path_is_relative_to_the_site_context_path() -> None:
    token = mint("GET", "https://acme.atlassian.net/wiki/rest/api/space?limit=1", SITE + "/wiki/")
    assert _claims(token)["qsh"] == query_string_hash("GET&/rest/api/space&limit=1")


def test_the_authorization_header() -> None:
    header = outgoing_authorization(
        app_key="agile-toolbox",
        shared_secret=SECRET,
        method="GET",
        url=f"{SITE}/rest/api/3/field",
        tenant_base_url=SITE,
        now=NOW,
    )
    scheme, token = header.split(" ")
    assert scheme == "JWT"
    assert _claims(token)["qsh"] == query_string_hash("GET&/rest/api/3/field&")


def test_a_short_secret_still_signs_without_warnings() -> None:
    token = mint_outgoing_token(
        app_key="k",
        shared_secret="short",
        method="GET",
        url=f"{SITE}/x",
        tenant_base_url=SITE,
        now=NOW,
    )
    assert token.count(".") == 2


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://evil.example.com/rest/api/3/field", SITE),
        ("http://acme.atlassian.net/rest/api/3/field", SITE),
        ("https://acme.atlassian.net.evil.com/rest", SITE),
        ("https://acme.atlassian.net:8443/rest", SITE),
        ("https://acme.atlassian.net/rest/api", SITE + "/wiki"),
        ("https://acme.atlassian.net/wikipedia", SITE + "/wiki"),
        ("/rest/api/3/field", SITE),
    ],
)
def test_nothing_is_signed_for_another_site(url: str, site: str) -> None:
    with pytest.raises(ValueError, match="site"):
        mint("GET", url, site)


def test_the_host_compares_without_case() -> None:
    assert mint("GET", "https://ACME.atlassian.net/rest/api/3/field")


@pytest.mark.parametrize("field", ["app_key", "shared_secret", "method"])
def test_required_arguments(field: str) -> None:
    arguments = {
        "app_key": "agile-toolbox",
        "shared_secret": SECRET,
        "method": "GET",
        "url": f"{SITE}/x",
        "tenant_base_url": SITE,
        "now": NOW,
    }
    arguments[field] = ""
    with pytest.raises(ValueError, match="required"):
        mint_outgoing_token(**arguments)  # type: ignore[arg-type]


def test_now_must_carry_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        mint_outgoing_token(
            app_key="k",
            shared_secret=SECRET,
            method="GET",
            url=f"{SITE}/x",
            tenant_base_url=SITE,
            now=NOW.replace(tzinfo=None),
        )
