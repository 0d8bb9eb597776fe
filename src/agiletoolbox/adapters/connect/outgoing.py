"""Signing the app's own requests to Jira (connect.md §5.1).

Each request gets its own HS256 token, signed with the tenant's shared secret: `iss` is
the app key (not the client key - Jira answers 401 to that), `iat` now, `exp` three
minutes later, and `qsh` the hash of that very request with its path taken relative to
the tenant's base URL. No `sub` (the app acts as itself) and no `aud` (Jira does not ask
for one, and a verifier that is given no audience refuses a token that has one).

The URL is signed exactly as written, so the client must send it unchanged (with
`yarl.URL(url, encoded=True)` under aiohttp); and a URL outside the tenant's site is
refused, so a token for one site can never be sent to another host.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import jwt

from agiletoolbox.adapters.connect.qsh import qsh_for_url, relative_path

OUTGOING_TOKEN_LIFETIME = timedelta(minutes=3)
ALGORITHM = "HS256"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _under_site(url: str, site: str) -> bool:
    site_path = urlsplit(site).path.rstrip("/")
    path = urlsplit(url).path
    return _origin(url) == _origin(site) and (
        not site_path or relative_path(path, site_path) != path
    )


def mint_outgoing_token(
    *,
    app_key: str,
    shared_secret: str,
    method: str,
    url: str,
    tenant_base_url: str,
    now: datetime,
    lifetime: timedelta = OUTGOING_TOKEN_LIFETIME,
) -> str:
    """The JWT for `method` on absolute `url`, a resource of the site at `tenant_base_url`.

    `ValueError` when `url` is not on that site, or an argument is empty.
    """
    if not app_key or not shared_secret or not method:
        raise ValueError("the app key, the shared secret and the method are required")
    if now.tzinfo is None:
        raise ValueError("now must carry a timezone")
    if not _under_site(url, tenant_base_url):
        raise ValueError("the URL is not on the tenant's site")
    issued = int(now.timestamp())
    claims = {
        "iss": app_key,
        "iat": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "qsh": qsh_for_url(method, url, tenant_base_url),
    }
    with warnings.catch_warnings():
        # Jira chose the secret; its length is not ours to warn about on every call.
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, shared_secret, algorithm=ALGORITHM, headers={"typ": "JWT"})


def outgoing_authorization(
    *,
    app_key: str,
    shared_secret: str,
    method: str,
    url: str,
    tenant_base_url: str,
    now: datetime,
) -> str:
    """The `Authorization` header value (`JWT <token>`) for one request to Jira."""
    token = mint_outgoing_token(
        app_key=app_key,
        shared_secret=shared_secret,
        method=method,
        url=url,
        tenant_base_url=tenant_base_url,
        now=now,
    )
    return f"JWT {token}"
