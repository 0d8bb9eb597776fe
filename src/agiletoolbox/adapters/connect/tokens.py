"""Connect JWTs as hostile input: finding them in a request, reading them, checking claims.

Nothing here trusts a token. `read_token` parses the unverified header and claims under
size limits and strict JSON rules (objects only, no duplicate names, no NaN) so that the
one claim read before verification - `iss`, needed to find the key - cannot be smuggled
past the parser that later reads the verified payload. `verify_signature` checks the
signature with a fixed algorithm list and hands back the claims parsed from the verified
bytes; every other claim is read only from those.
"""

from __future__ import annotations

import binascii
import math
import re
import warnings
from base64 import urlsafe_b64decode
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from attrs import field, frozen
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from agiletoolbox.adapters import strict_json
from agiletoolbox.adapters.connect.errors import AuthFailure, ConnectAuthError
from agiletoolbox.adapters.connect.qsh import JWT_PARAMETER, Params, parse_query
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import AccountId, IssueKey, TenantKey

MAX_TOKEN_LENGTH = 8192
"""Longer than any token Jira sends (context tokens are about 1 KiB)."""

LEEWAY = timedelta(seconds=30)
"""Clock skew tolerated on `exp`, `nbf` and `iat`, as Atlassian's Java library does."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
MAX_LIFETIME = timedelta(hours=1)
"""The longest a token may live (`exp - iat`): Jira's live minutes (3 for page and
lifecycle tokens, about 15 for context tokens); a token meant to last years is refused."""
_AUTH_SCHEME = "jwt "
# Header parameters that change how a token is processed; none has a place in Connect.
_REFUSED_HEADERS = frozenset({"crit", "b64"})
_MAX_CONTEXT_ID = 64


def _pairs(items: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(items)


@frozen
class ConnectRequest:
    """What the verifiers need to know of an incoming HTTP request, free of any framework.

    `path` and `query` are raw, as received (percent-encoded); `form` holds the decoded
    fields of a form-encoded body, if any. The fields that may carry a token stay out of
    the repr, so logging a request cannot leak one.
    """

    method: str
    path: str
    query: str = field(default="", repr=False)
    authorization: str | None = field(default=None, repr=False)
    form: tuple[tuple[str, str], ...] = field(default=(), repr=False, converter=_pairs)

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        *,
        authorization: str | None = None,
        form: Params = (),
    ) -> ConnectRequest:
        """A request from its raw request target (`/path?query`, as aiohttp's `raw_path`)."""
        path, _, query = target.partition("#")[0].partition("?")
        return cls(method, path, query, authorization, form)


@frozen
class ConnectContext:
    """The Jira context a token names (context tokens carry it), each part when present."""

    issue_key: IssueKey | None = None
    issue_id: str | None = None
    issuetype_id: str | None = None
    project_key: str | None = None
    project_id: str | None = None


@frozen
class ConnectCaller:
    """Who a verified Connect token speaks for: the tenant, the user if any, the context."""

    client_key: TenantKey
    account_id: AccountId | None
    expires_at: datetime
    context: ConnectContext = ConnectContext()


@frozen
class UnverifiedToken:
    """A token split and parsed, not yet verified: only `alg`, `kid` and `iss` may be read."""

    raw: str = field(repr=False)
    header: Mapping[str, Any] = field(repr=False)
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def algorithm(self) -> str | None:
        """The `alg` header, if it is a string."""
        alg = self.header.get("alg")
        return alg if isinstance(alg, str) else None

    @property
    def key_id(self) -> str | None:
        """The `kid` header, if it is a string."""
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    def issuer(self) -> TenantKey:
        """The `iss` claim as a tenant key; refused when missing or malformed."""
        return tenant_key(self.claims)


def extract_token(request: ConnectRequest) -> str:
    """The token a request carries: `?jwt=`, a `jwt` form field, or `Authorization: JWT`.

    As Atlassian's Express framework does, a token in the query or the form wins over the
    header, and one in both the query and the form (or twice in either) is refused.
    """
    in_query = [value for name, value in parse_query(request.query) if name == JWT_PARAMETER]
    in_form = [value for name, value in request.form if name == JWT_PARAMETER]
    found = in_query + in_form
    if len(found) > 1:
        raise ConnectAuthError(AuthFailure.AMBIGUOUS_TOKEN)
    if found:
        token = found[0]
    else:
        header = (request.authorization or "").strip()
        token = header[len(_AUTH_SCHEME) :] if header[:4].lower() == _AUTH_SCHEME else ""
    token = token.strip()
    if not token:
        raise ConnectAuthError(AuthFailure.MISSING_TOKEN)
    return token


def parse_object(data: bytes) -> dict[str, Any]:
    """A JSON object from `data`; `MALFORMED_TOKEN` for anything else."""
    try:
        value = strict_json.loads(data)
    except ValueError:
        raise ConnectAuthError(AuthFailure.MALFORMED_TOKEN) from None
    if not isinstance(value, dict):
        raise ConnectAuthError(AuthFailure.MALFORMED_TOKEN)
    return value


def _segment(text: str) -> bytes:
    try:
        return urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ConnectAuthError(AuthFailure.MALFORMED_TOKEN) from None


def read_token(token: str) -> UnverifiedToken:
    """Split and parse `token` without trusting it; refused when it is not a sane JWS."""
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise ConnectAuthError(AuthFailure.MALFORMED_TOKEN)
    header_text, claims_text, _ = token.split(".")
    header = parse_object(_segment(header_text))
    claims = parse_object(_segment(claims_text))
    if _REFUSED_HEADERS & header.keys():
        raise ConnectAuthError(AuthFailure.UNSUPPORTED_HEADER)
    return UnverifiedToken(token, header, claims)


def require_algorithm(token: UnverifiedToken, algorithm: str) -> None:
    """Refuse the token unless its header names exactly `algorithm`."""
    if token.algorithm != algorithm:
        raise ConnectAuthError(AuthFailure.ALGORITHM_NOT_ALLOWED)


def verify_signature(
    token: UnverifiedToken, key: str | RSAPublicKey, algorithm: str
) -> dict[str, Any]:
    """The claims of `token` once its signature verifies with `key` under `algorithm`.

    The algorithm comes from the route, never from the token: the list PyJWT checks holds
    that one name only.
    """
    require_algorithm(token, algorithm)
    try:
        with warnings.catch_warnings():
            # Jira chooses the shared secret's length; a short one is not the caller's fault
            # and must not turn into a warning on every request.
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            verified = jwt.api_jws.decode_complete(token.raw, key, algorithms=[algorithm])
    except jwt.InvalidSignatureError:
        raise ConnectAuthError(AuthFailure.BAD_SIGNATURE) from None
    except (jwt.InvalidTokenError, jwt.InvalidKeyError):
        raise ConnectAuthError(AuthFailure.MALFORMED_TOKEN) from None
    return parse_object(verified["payload"])


def string_claim(claims: Mapping[str, Any], name: str) -> str:
    """A required string claim; `MISSING_CLAIM` or `INVALID_CLAIM` otherwise."""
    value = claims.get(name)
    if value is None:
        raise ConnectAuthError(AuthFailure.MISSING_CLAIM)
    if not isinstance(value, str):
        raise ConnectAuthError(AuthFailure.INVALID_CLAIM)
    return value


def tenant_key(claims: Mapping[str, Any]) -> TenantKey:
    """The `iss` claim as a tenant key."""
    issuer = string_claim(claims, "iss")
    try:
        return TenantKey(issuer)
    except InvalidValue:
        raise ConnectAuthError(AuthFailure.UNKNOWN_ISSUER) from None


def _instant(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # JSON `true` is a Python int; a time is a finite number and nothing else.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConnectAuthError(AuthFailure.INVALID_CLAIM)
    if not math.isfinite(value):
        raise ConnectAuthError(AuthFailure.INVALID_CLAIM)
    return float(value)


def _required_instant(claims: Mapping[str, Any], name: str) -> float:
    value = _instant(claims, name)
    if value is None:
        raise ConnectAuthError(AuthFailure.MISSING_CLAIM)
    return value


def check_times(claims: Mapping[str, Any], now: datetime, leeway: timedelta = LEEWAY) -> datetime:
    """Check `exp` and `iat` (required) and `nbf` (optional) at `now`; return the expiry."""
    if now.tzinfo is None:
        raise ValueError("now must carry a timezone")
    moment = now.timestamp()
    slack = leeway.total_seconds()
    expires = _required_instant(claims, "exp")
    issued = _required_instant(claims, "iat")
    not_before = _instant(claims, "nbf")
    if expires <= moment - slack:
        raise ConnectAuthError(AuthFailure.EXPIRED)
    if expires - issued > MAX_LIFETIME.total_seconds():
        raise ConnectAuthError(AuthFailure.INVALID_CLAIM)
    if issued > moment + slack or (not_before is not None and not_before > moment + slack):
        raise ConnectAuthError(AuthFailure.NOT_YET_VALID)
    # Within an hour of an `iat` that is not in the future: always a calendar time.
    return datetime.fromtimestamp(expires, UTC)


def _member(value: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def account_of(claims: Mapping[str, Any]) -> AccountId | None:
    """The user: `sub`, or `context.user.accountId` when there is no `sub`.

    Both name the same person in every token Jira signs; a token where they differ, or
    where the id is malformed, is refused rather than guessed at.
    """
    subject = claims.get("sub")
    in_context = _member(claims.get("context"), "user", "accountId")
    if subject is None and in_context is None:
        return None
    if subject is not None and in_context is not None and subject != in_context:
        raise ConnectAuthError(AuthFailure.INVALID_CLAIM)
    chosen = subject if subject is not None else in_context
    if not isinstance(chosen, str):
        raise ConnectAuthError(AuthFailure.INVALID_CLAIM)
    try:
        return AccountId(chosen)
    except InvalidValue:
        raise ConnectAuthError(AuthFailure.INVALID_CLAIM) from None


def _text(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= _MAX_CONTEXT_ID and value.isprintable():
        return value
    return None


def context_of(claims: Mapping[str, Any]) -> ConnectContext:
    """The Jira context of a verified token; parts that are absent or odd are left out."""
    jira = _member(claims.get("context"), "jira")
    key = _text(_member(jira, "issue", "key"))
    try:
        issue_key = IssueKey(key) if key is not None else None
    except InvalidValue:
        issue_key = None
    return ConnectContext(
        issue_key=issue_key,
        issue_id=_text(_member(jira, "issue", "id")),
        issuetype_id=_text(_member(jira, "issue", "issuetype", "id")),
        project_key=_text(_member(jira, "project", "key")),
        project_id=_text(_member(jira, "project", "id")),
    )
