"""The canonical request and its query-string hash (`qsh`), as Atlassian Connect defines them.

A Connect JWT binds itself to one request through `qsh`: the SHA-256 of
`METHOD&path&query`, each part canonicalised so that both ends compute the same text
(connect.md §4.3):

- the method upper-cased;
- the path relative to the base URL's path, `&` percent-encoded, `/` when empty, without
  one trailing `/`;
- every query parameter but `jwt`, percent-decoded (`+` is a space), then re-encoded the
  RFC 3986 / OAuth 1 way (only `A-Z a-z 0-9 - . _ ~` stay bare, `%XX` in upper case),
  sorted by encoded name; a repeated parameter is emitted once, its values sorted and
  joined with `,`; a parameter without a value emits `name=`.

The implementations Atlassian ships order repeated values and names differently in one
corner (values or names holding reserved or non-ASCII characters): the documented
algorithm sorts encoded values, the Java library sorts raw values, the JavaScript library
sorts raw names and raw values. `QueryOrder` names the three; a token is signed with the
documented one and accepted under any of them, since they hash the same parameters and
differ only in their order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from enum import Enum
from urllib.parse import parse_qsl, quote, unquote, urlsplit

CONTEXT_QSH = "context-qsh"
"""The fixed `qsh` of context tokens (`AP.context.getToken()`), bound to no request."""

JWT_PARAMETER = "jwt"
"""The query parameter that carries a token; it is never part of the canonical query."""

_FORM_FALLBACK_METHODS = frozenset({"POST", "PUT"})

Params = Sequence[tuple[str, str]]
"""Decoded query parameters, in the order they came."""


class QueryOrder(Enum):
    """How parameters and repeated values are ordered in the canonical query."""

    SPEC = "spec"
    """The documented algorithm: by encoded name, repeated values by encoded value."""

    JAVA = "java"
    """Atlassian's Java library: by encoded name, repeated values by raw value."""

    JS = "js"
    """Atlassian's `atlassian-jwt` npm package: by raw name, repeated values by raw value."""


def percent_encode(text: str) -> str:
    """`text` percent-encoded as RFC 3986 / OAuth 1 require (UTF-8, upper-case hex)."""
    # Lone surrogates cannot come from decoded bytes; "replace" keeps us total, as Java's
    # URLEncoder is (it writes "?" for them too).
    return quote(text.encode("utf-8", "replace"), safe="")


def parse_query(query: str) -> tuple[tuple[str, str], ...]:
    """The decoded parameters of a raw query string (`+` is a space; `?a` is `a=`)."""
    return tuple(parse_qsl(query, keep_blank_values=True, errors="replace"))


def base_path(base_url: str) -> str:
    """The path of a base URL without its trailing `/` (`""` for a bare host)."""
    return urlsplit(base_url).path.rstrip("/")


def relative_path(path: str, base: str) -> str:
    """`path` with the base URL's path `base` removed when the path lies under it.

    The prefix is removed by whole segments: `/base/x` under `/base` is `/x`, while
    `/basement` is not under `/base` and stays as it is.
    """
    base = base.rstrip("/")
    if base and (path == base or path.startswith(base + "/")):
        return path[len(base) :]
    return path


def canonical_path(path: str, base: str = "") -> str:
    """The canonical URI of `path` (the raw path, without query) under base path `base`."""
    relative = relative_path(path, base)
    if not relative:
        return "/"
    # An unencoded "&" would let "/p&a=b?x=y" and "/p?a=b&x=y" share a hash.
    relative = relative.replace("&", "%26")
    if not relative.startswith("/"):
        relative = "/" + relative
    if len(relative) > 1 and relative.endswith("/"):
        relative = relative[:-1]
    return relative


def _utf16(text: str) -> bytes:
    # Java and JavaScript compare strings by UTF-16 code unit, Python by code point; the
    # two differ for characters beyond the BMP, so raw sorting goes through UTF-16.
    return text.encode("utf-16-be", "surrogatepass")


def canonical_query(params: Iterable[tuple[str, str]], order: QueryOrder = QueryOrder.SPEC) -> str:
    """The canonical query string of decoded `params` (`jwt` left out)."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        if name != JWT_PARAMETER:
            grouped.setdefault(name, []).append(value)
    if order is QueryOrder.JS:
        names = sorted(grouped, key=_utf16)
    else:
        names = sorted(grouped, key=percent_encode)
    parts = []
    for name in names:
        if order is QueryOrder.SPEC:
            values = sorted(percent_encode(value) for value in grouped[name])
        else:
            values = [percent_encode(value) for value in sorted(grouped[name], key=_utf16)]
        parts.append(f"{percent_encode(name)}={','.join(values)}")
    return "&".join(parts)


def canonical_request(
    method: str,
    path: str,
    params: Iterable[tuple[str, str]] = (),
    *,
    base: str = "",
    order: QueryOrder = QueryOrder.SPEC,
) -> str:
    """`METHOD&path&query` for a request to raw `path` with decoded `params`.

    `base` is the path of the base URL the path is relative to (the app's for requests
    to the app, the tenant's for requests to Jira).
    """
    return f"{method.upper()}&{canonical_path(path, base)}&{canonical_query(params, order)}"


def query_string_hash(canonical: str) -> str:
    """The `qsh` claim for a canonical request: lower-case hex SHA-256 of its UTF-8."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def qsh_for_url(method: str, url: str, base_url: str) -> str:
    """The `qsh` of `method` on `url` (absolute, or a raw path with query) under `base_url`."""
    parts = urlsplit(url)
    return query_string_hash(
        canonical_request(method, parts.path, parse_query(parts.query), base=base_path(base_url))
    )


def accepted_hashes(
    method: str,
    path: str,
    query: str,
    *,
    bases: Iterable[str] = ("",),
    form: Params = (),
) -> frozenset[str]:
    """Every `qsh` that legitimately describes this incoming request.

    `path` and `query` are raw, as received. The set covers: each base path in `bases`;
    the path as received and, when it differs, percent-decoded (some signers hash the
    decoded path); the three `QueryOrder`s; and for a POST or PUT without query
    parameters, the form fields of the body standing in for the query (some clients move
    the query into the body). All of them hash the same method, path and parameters.
    """
    method = method.upper()
    query_params = parse_query(query)
    sources: list[Params] = [query_params]
    if (
        method in _FORM_FALLBACK_METHODS
        and all(name == JWT_PARAMETER for name, _ in query_params)
        and any(name != JWT_PARAMETER for name, _ in form)
    ):
        sources.append(tuple(form))
    paths = {path, unquote(path, errors="replace")}
    return frozenset(
        query_string_hash(canonical_request(method, each, params, base=base, order=order))
        for base in set(bases)
        for each in paths
        for params in sources
        for order in QueryOrder
    )
