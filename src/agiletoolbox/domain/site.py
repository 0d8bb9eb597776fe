"""A Jira site's addresses and ids, checked once where they enter the domain."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from agiletoolbox.domain.errors import InvalidValue

MAX_BASE_URL_LENGTH = 2048

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INSTALLATION_ARI_PREFIX = "ari:cloud:ecosystem::installation/"
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Jira Cloud's own domains, one label for the site (the glob ACE applies to signed installs).
_PRODUCTION_HOST = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.(?:atlassian\.net|jira\.com|jira-dev\.com)"
)


def parse_base_url(url: str, *, production: bool = False) -> str:
    """A site's base URL, normalised (lower-case scheme and host, no trailing slash).

    Refused with `InvalidValue`: anything but an absolute http(s) URL, credentials, a query
    or a fragment. In production only `https://<site>.atlassian.net` (or `.jira.com`,
    `.jira-dev.com`) is accepted, so a forged install cannot point the app elsewhere.
    """
    if (
        not isinstance(url, str)
        or not url
        or len(url) > MAX_BASE_URL_LENGTH
        or not url.isascii()
        or not url.isprintable()
        or " " in url
    ):
        raise InvalidValue("the base URL is not valid")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidValue("the base URL must be an absolute http(s) URL")
    if "@" in parts.netloc:
        raise InvalidValue("the base URL may not carry credentials")
    if "?" in url or "#" in url:
        raise InvalidValue("the base URL may not carry a query or a fragment")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        raise InvalidValue("the base URL has an invalid port") from None
    if not _valid_host(host):
        raise InvalidValue("the base URL has an invalid host")
    if production and (
        parts.scheme != "https" or port not in (None, 443) or not _PRODUCTION_HOST.fullmatch(host)
    ):
        raise InvalidValue("in production the base URL must be an https Jira Cloud site")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)
    return True


def installation_ari(text: str) -> str:
    """A Forge installation id as its ARI (`ari:cloud:ecosystem::installation/<uuid>`).

    Connect payloads send the ARI, Forge lifecycle events the bare UUID; both map to one
    form so a tenant is found whichever way it is named.
    """
    if isinstance(text, str):
        candidate = text.strip().lower()
        candidate = candidate.removeprefix(_INSTALLATION_ARI_PREFIX)
        if _UUID.fullmatch(candidate):
            return _INSTALLATION_ARI_PREFIX + candidate
    raise InvalidValue("the Forge installation id is not valid")


def parse_cloud_id(text: str) -> str:
    """A Jira site's cloud id (a UUID), in lower case."""
    if isinstance(text, str) and _UUID.fullmatch(text.strip().lower()):
        return text.strip().lower()
    raise InvalidValue("the cloud id is not valid")
