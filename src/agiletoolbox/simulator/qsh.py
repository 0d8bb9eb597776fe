"""The canonical request and query-string hash, written afresh from connect.md §4.3.

The simulator is the app's independent oracle of the protocol, so it shares no code with
`agiletoolbox.adapters.connect`: everything here is restated from the reference.

    qsh = hex(SHA-256(METHOD "&" URI "&" QUERY))

- METHOD upper-cased.
- URI: the raw path with the base URL's path removed, `/` when empty, every `&` written
  `%26`, a leading `/`, one trailing `/` dropped (unless the path is `/`).
- QUERY: every parameter but `jwt`, percent-decoded (`+` is a space, `?a` is `a=`),
  re-encoded RFC 3986 style (only `A-Z a-z 0-9 - . _ ~` bare, `%XX` upper case), sorted
  by encoded name; a repeated name once, its encoded values sorted and joined by `,`.

This is the form Jira's Java library computes; the simulator accepts no other.
"""

from __future__ import annotations

import hashlib
import string
from urllib.parse import unquote_plus

TOKEN_PARAMETER = "jwt"  # noqa: S105 - the name of a query parameter, not a secret
CONTEXT_QSH = "context-qsh"
_UNRESERVED = frozenset((string.ascii_letters + string.digits + "-._~").encode("ascii"))


def percent_encode(text: str) -> str:
    """`text` as UTF-8 with every byte outside the unreserved set written `%XX`."""
    return "".join(
        chr(byte) if byte in _UNRESERVED else f"%{byte:02X}"
        for byte in text.encode("utf-8", "replace")
    )


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The decoded `(name, value)` pairs of a raw query string, in order."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append(
                (unquote_plus(name, errors="replace"), unquote_plus(value, errors="replace"))
            )
    return pairs


def canonical_uri(raw_path: str, base_path: str = "") -> str:
    """The canonical URI of a raw path under a base URL whose path is `base_path`."""
    base = base_path.rstrip("/")
    path = raw_path
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :]
    if not path:
        return "/"
    path = path.replace("&", "%26")
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    """The canonical query of decoded pairs."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        if name != TOKEN_PARAMETER:
            grouped.setdefault(percent_encode(name), []).append(percent_encode(value))
    return "&".join(
        f"{name}={','.join(sorted(values))}" for name, values in sorted(grouped.items())
    )


def canonical_request(method: str, raw_target: str, base_path: str = "") -> str:
    """`METHOD&URI&QUERY` for a raw request target (`/path?query`)."""
    raw_path, _, raw_query = raw_target.partition("#")[0].partition("?")
    return "&".join(
        (
            method.upper(),
            canonical_uri(raw_path, base_path),
            canonical_query(query_pairs(raw_query)),
        )
    )


def query_string_hash(method: str, raw_target: str, base_path: str = "") -> str:
    """The `qsh` of `method` on a raw request target under `base_path`."""
    canonical = canonical_request(method, raw_target, base_path)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
