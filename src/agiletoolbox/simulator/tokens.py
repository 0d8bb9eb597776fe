"""JWTs as Jira writes and checks them, independent of the app's code (and of PyJWT).

Jira signs install callbacks with RS256 and a `kid` header, everything else it sends
with HS256 and the installation's shared secret; it accepts from the app HS256 tokens
only, checked the way `verify_request_token` does (connect.md §4-§5):

1. the token is three base64url segments of strict JSON objects, at most 8 KiB;
2. `alg` is exactly `HS256` (no `none`, no RS*, no other HMAC) and no `crit` header;
3. the HMAC-SHA256 signature verifies with the installation's shared secret;
4. `iss` is the app key of that installation (not the client key);
5. `iat` and `exp` are present numbers, the token is not expired nor issued in the
   future (30 s leeway), and lives no longer than `TokenPolicy.max_lifetime`;
6. `qsh` is the hash of this very request, relative to the site's base URL - a context
   token (`qsh: "context-qsh"`) is bound to no request and is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from attrs import frozen
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from agiletoolbox.simulator.qsh import CONTEXT_QSH, query_string_hash

MAX_TOKEN_LENGTH = 8192
_SEGMENTS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class TokenRejected(Exception):
    """Jira would refuse this token; `reason` is a short fixed code saying why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@frozen
class TokenPolicy:
    """How strict the checks of times are, in seconds."""

    leeway: float = 30.0
    max_lifetime: float = 15 * 60.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenRejected("malformed") from None


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _signing_input(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    return f"{_b64(_json(header))}.{_b64(_json(claims))}"


def encode_hs256(claims: Mapping[str, Any], secret: str) -> str:
    """An HS256 token over `claims`, as Jira signs with a shared secret."""
    signing_input = _signing_input({"typ": "JWT", "alg": "HS256"}, claims)
    signature = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256)
    return f"{signing_input}.{_b64(signature.digest())}"


def encode_rs256(claims: Mapping[str, Any], key: RSAPrivateKey, kid: str) -> str:
    """An RS256 token over `claims` naming its key by `kid`, as signed installs are."""
    signing_input = _signing_input({"kid": kid, "typ": "JWT", "alg": "RS256"}, claims)
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _object(data: bytes) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({name for name, _ in pairs}) != len(pairs):
            raise ValueError("duplicate member")
        return dict(pairs)

    def no_constants(_name: str) -> Any:
        raise ValueError("not JSON")

    try:
        value = json.loads(
            data.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants
        )
    except (ValueError, RecursionError):
        raise TokenRejected("malformed") from None
    if not isinstance(value, dict):
        raise TokenRejected("malformed")
    return value


@frozen
class Decoded:
    """A token split and parsed; nothing in it is trusted until `verify_hs256` says so."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def decode(token: str) -> Decoded:
    """Split and parse `token` without verifying it; `TokenRejected` when malformed."""
    if len(token) > MAX_TOKEN_LENGTH or not _SEGMENTS.fullmatch(token):
        raise TokenRejected("malformed")
    header_text, claims_text, signature_text = token.split(".")
    return Decoded(
        header=_object(_unb64(header_text)),
        claims=_object(_unb64(claims_text)),
        signing_input=f"{header_text}.{claims_text}".encode("ascii"),
        signature=_unb64(signature_text),
    )


def verify_hs256(token: str, secret: str) -> dict[str, Any]:
    """The claims of an HS256 token whose signature verifies with `secret`."""
    decoded = decode(token)
    if decoded.header.get("alg") != "HS256":
        raise TokenRejected("algorithm")
    if "crit" in decoded.header:
        raise TokenRejected("crit")
    expected = hmac.new(secret.encode("utf-8"), decoded.signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, decoded.signature):
        raise TokenRejected("signature")
    return decoded.claims


def _instant(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenRejected(f"invalid {name}")
    return float(value)


def _required_instant(claims: Mapping[str, Any], name: str) -> float:
    value = _instant(claims, name)
    if value is None:
        raise TokenRejected(f"missing {name}")
    return value


def check_times(claims: Mapping[str, Any], now: float, policy: TokenPolicy) -> None:
    """`exp` and `iat` present and sane at `now`; `nbf`, if any, passed."""
    expires = _required_instant(claims, "exp")
    issued = _required_instant(claims, "iat")
    not_before = _instant(claims, "nbf")
    if expires <= now - policy.leeway:
        raise TokenRejected("expired")
    if issued > now + policy.leeway or (
        not_before is not None and not_before > now + policy.leeway
    ):
        raise TokenRejected("not yet valid")
    if expires - issued > policy.max_lifetime:
        raise TokenRejected("lifetime too long")


def verify_request_token(
    token: str,
    *,
    secret: str,
    issuer: str,
    method: str,
    raw_target: str,
    base_path: str,
    now: float,
    policy: TokenPolicy | None = None,
) -> dict[str, Any]:
    """The claims of an app's token for this request; `TokenRejected` with the reason else.

    `issuer` is the app key the installation was made for; `raw_target` the request's
    path and query as received; `base_path` the path of the site's base URL.
    """
    policy = policy or TokenPolicy()
    claims = verify_hs256(token, secret)
    if claims.get("iss") != issuer:
        raise TokenRejected("issuer")
    check_times(claims, now, policy)
    qsh = claims.get("qsh")
    if not isinstance(qsh, str):
        raise TokenRejected("missing qsh")
    if qsh == CONTEXT_QSH:
        raise TokenRejected("context qsh")
    expected = query_string_hash(method, raw_target, base_path)
    if not hmac.compare_digest(qsh.encode("utf-8", "replace"), expected.encode("ascii")):
        raise TokenRejected("qsh")
    return claims
