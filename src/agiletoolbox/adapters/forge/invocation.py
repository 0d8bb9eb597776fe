"""Verifying Forge invocation tokens (FIT), the bearer token of every call Forge makes.

Checks, in order (forge-remote.md §2.1, reliability.md §2 for the attacks):

1. the token is three base64url segments, at most 16 KiB, whose header is a strict JSON
   object (no duplicate names, no NaN) without `crit` or `b64`;
2. `alg` is exactly `RS256` - the algorithm is ours, never the token's: no `none`, no
   HMAC (so the public key can never serve as an HMAC secret), no other RSA or EC;
3. the key named by `kid` is in Forge's key set (`ForgeKeys`; 503 when the set cannot be
   fetched), and the signature verifies with it;
4. from the verified payload only: `iss` is `forge/invocation-token`, `aud` is (or
   holds) our app id, and `exp` and `nbf` are present numbers with the token inside
   them, give or take `LEEWAY`;
5. the claims the app relies on are well formed (`claims.invocation_context`), and
   `app.id` is our app too.

`LEEWAY` is 10 seconds: a token lives about 25 seconds, so a larger allowance for clock
skew would more than double its life.
"""

from __future__ import annotations

import binascii
import math
import re
from base64 import urlsafe_b64decode
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt
from attrs import frozen
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from agiletoolbox.adapters import strict_json
from agiletoolbox.adapters.forge.claims import InvocationContext, invocation_context
from agiletoolbox.adapters.forge.errors import ForgeAuthError, ForgeAuthFailure
from agiletoolbox.adapters.forge.jwks import MAX_KEY_ID_LENGTH, JwksUnavailable

ISSUER = "forge/invocation-token"
ALGORITHM = "RS256"
LEEWAY = timedelta(seconds=10)
MAX_TOKEN_LENGTH = 16 * 1024

_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_REFUSED_HEADERS = frozenset({"crit", "b64"})


class SigningKeys(Protocol):
    """Forge's public keys by kid (`ForgeKeys`)."""

    async def key(self, kid: str) -> RSAPublicKey | None:
        """The key, None when unknown; `JwksUnavailable` when it could not be looked up."""
        ...


def strict_object(data: bytes) -> dict[str, Any]:
    """A JSON object from `data`, strictly; `MALFORMED_TOKEN` for anything else."""
    try:
        value = strict_json.loads(data)
    except ValueError:
        raise ForgeAuthError(ForgeAuthFailure.MALFORMED_TOKEN) from None
    if not isinstance(value, dict):
        raise ForgeAuthError(ForgeAuthFailure.MALFORMED_TOKEN)
    return value


def _header(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise ForgeAuthError(ForgeAuthFailure.MALFORMED_TOKEN)
    segment = token.split(".", 1)[0]
    try:
        raw = urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise ForgeAuthError(ForgeAuthFailure.MALFORMED_TOKEN) from None
    header = strict_object(raw)
    if _REFUSED_HEADERS & header.keys():
        raise ForgeAuthError(ForgeAuthFailure.UNSUPPORTED_HEADER)
    return header


def _instant(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise ForgeAuthError(ForgeAuthFailure.MISSING_CLAIM)
    # JSON `true` is a Python int; a time is a finite number and nothing else.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ForgeAuthError(ForgeAuthFailure.INVALID_CLAIM)
    return float(value)


def check_times(claims: Mapping[str, Any], now: datetime, leeway: timedelta) -> datetime:
    """`exp` and `nbf` required and `now` inside them (with `leeway`); return the expiry."""
    moment, slack = now.timestamp(), leeway.total_seconds()
    expires = _instant(claims, "exp")
    not_before = _instant(claims, "nbf")
    if expires <= moment - slack:
        raise ForgeAuthError(ForgeAuthFailure.EXPIRED)
    if not_before > moment + slack:
        raise ForgeAuthError(ForgeAuthFailure.NOT_YET_VALID)
    try:
        return datetime.fromtimestamp(expires, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.max.replace(tzinfo=UTC)


def _check_audience(claims: Mapping[str, Any], app_id: str) -> None:
    audience = claims.get("aud")
    if audience is None:
        raise ForgeAuthError(ForgeAuthFailure.MISSING_CLAIM)
    audiences = audience if isinstance(audience, list) else [audience]
    if app_id not in [entry for entry in audiences if isinstance(entry, str)]:
        raise ForgeAuthError(ForgeAuthFailure.WRONG_AUDIENCE)


def _check_issuer(claims: Mapping[str, Any]) -> None:
    issuer = claims.get("iss")
    if issuer is None:
        raise ForgeAuthError(ForgeAuthFailure.MISSING_CLAIM)
    if issuer != ISSUER:
        raise ForgeAuthError(ForgeAuthFailure.WRONG_ISSUER)


@frozen
class InvocationTokenVerifier:
    """Verifies invocation tokens for the Forge app `app_id` (see the module docstring).

    In `production` the token's `app.apiBaseUrl` must be https.
    """

    keys: SigningKeys
    app_id: str
    leeway: timedelta = LEEWAY
    production: bool = False

    async def verify(self, token: str, *, now: datetime) -> InvocationContext:
        """The verified invocation; `ForgeAuthError` with the reason otherwise."""
        if now.tzinfo is None:
            raise ValueError("now must carry a timezone")
        header = _header(token)
        if header.get("alg") != ALGORITHM:
            raise ForgeAuthError(ForgeAuthFailure.ALGORITHM_NOT_ALLOWED)
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KEY_ID_LENGTH:
            raise ForgeAuthError(ForgeAuthFailure.UNKNOWN_KEY)
        try:
            key = await self.keys.key(kid)
        except JwksUnavailable:
            raise ForgeAuthError(ForgeAuthFailure.KEYS_UNAVAILABLE) from None
        if key is None:
            raise ForgeAuthError(ForgeAuthFailure.UNKNOWN_KEY)
        claims = self._verified_claims(token, key)
        _check_issuer(claims)
        _check_audience(claims, self.app_id)
        expires_at = check_times(claims, now, self.leeway)
        context = invocation_context(claims, expires_at=expires_at, production=self.production)
        if context.app.id != self.app_id:
            raise ForgeAuthError(ForgeAuthFailure.WRONG_AUDIENCE)
        return context

    @staticmethod
    def _verified_claims(token: str, key: RSAPublicKey) -> dict[str, Any]:
        try:
            verified = jwt.api_jws.decode_complete(token, key, algorithms=[ALGORITHM])
        except jwt.InvalidSignatureError:
            raise ForgeAuthError(ForgeAuthFailure.BAD_SIGNATURE) from None
        except (jwt.InvalidTokenError, jwt.InvalidKeyError):
            raise ForgeAuthError(ForgeAuthFailure.MALFORMED_TOKEN) from None
        return strict_object(verified["payload"])
