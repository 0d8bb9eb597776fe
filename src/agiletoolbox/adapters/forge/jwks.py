"""The keys that sign Forge invocation tokens: a JWKS fetched, checked and cached by `kid`.

Forge names the signing key of every token in its `kid` header and publishes the public
keys as a JSON Web Key Set (forge-remote.md §2.1). No caching or rotation policy is
documented, so the set is kept in memory and read again:

- when a token names a `kid` the set does not hold (a rotation) - but at most once every
  `min_refetch` seconds (30), so a flood of tokens with made-up kids costs one fetch per
  interval, not one per request;
- when the set is older than `max_age` seconds (one hour), so a key Atlassian withdraws
  stops being accepted within the hour.

A fetch that fails is `JwksUnavailable` (the caller answers 503: the token may be fine);
the keys already held keep verifying meanwhile. Only RSA keys of 2048 bits or more whose
`use` (if any) is `sig` and whose `alg` (if any) is `RS256` are kept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import aiohttp
import jwt
from attrs import define, field, frozen
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

DEFAULT_JWKS_URL = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
FETCH_TIMEOUT_SECONDS = 10.0
MAX_JWKS_BYTES = 64 * 1024
MIN_REFETCH_SECONDS = 30.0
MAX_AGE_SECONDS = 3600.0
MAX_KEYS = 32
MIN_RSA_BITS = 2048
MAX_KEY_ID_LENGTH = 256


class JwksUnavailable(Exception):
    """The key set could not be fetched or read; trying again later may work."""


class JwksFetcher(Protocol):
    """Fetches the key set document."""

    async def fetch(self, url: str) -> bytes:
        """The body at `url`; `JwksUnavailable` for anything but a 200 within limits."""
        ...


@frozen
class AiohttpJwksFetcher:
    """Fetches the key set with the process's shared session: bounded, no redirects."""

    session: aiohttp.ClientSession
    timeout: float = FETCH_TIMEOUT_SECONDS
    max_bytes: int = MAX_JWKS_BYTES

    async def fetch(self, url: str) -> bytes:
        """The body at `url`; `JwksUnavailable` for anything but a 200 within limits."""
        try:
            async with self.session.get(
                url,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
                headers={"Accept": "application/json"},
            ) as response:
                if response.status != 200:
                    raise JwksUnavailable
                body = b""
                async for chunk in response.content.iter_chunked(16 * 1024):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise JwksUnavailable
        except (aiohttp.ClientError, TimeoutError):
            raise JwksUnavailable from None
        return body


def _usable(entry: Mapping[str, Any]) -> tuple[str, RSAPublicKey] | None:
    kid = entry.get("kid")
    if (
        entry.get("kty") != "RSA"
        or not isinstance(kid, str)
        or not 0 < len(kid) <= MAX_KEY_ID_LENGTH
        or entry.get("use", "sig") != "sig"
        or entry.get("alg", "RS256") != "RS256"
    ):
        return None
    try:
        key = jwt.PyJWK(dict(entry), algorithm="RS256").key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
        return None
    if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        return None
    return kid, key


def parse_jwks(document: bytes) -> dict[str, RSAPublicKey]:
    """The usable signing keys of a key set by kid; `JwksUnavailable` when it is no set."""
    try:
        parsed = json.loads(document.decode("utf-8"))
    except (ValueError, RecursionError):
        raise JwksUnavailable from None
    entries = parsed.get("keys") if isinstance(parsed, dict) else None
    if not isinstance(entries, list):
        raise JwksUnavailable
    keys: dict[str, RSAPublicKey] = {}
    for entry in entries:
        found = _usable(entry) if isinstance(entry, dict) else None
        if found is not None and len(keys) < MAX_KEYS:
            keys.setdefault(*found)
    return keys


@define
class ForgeKeys:
    """Forge's public signing keys by kid, cached and re-read as the module docstring says.

    `clock` is a monotonic clock in seconds (injectable so tests need not wait).
    """

    fetcher: JwksFetcher
    url: str = DEFAULT_JWKS_URL
    min_refetch: float = MIN_REFETCH_SECONDS
    max_age: float = MAX_AGE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, RSAPublicKey] = field(factory=dict, init=False, repr=False)
    _fetched_at: float | None = field(default=None, init=False)
    _attempted_at: float | None = field(default=None, init=False)
    _failing: bool = field(default=False, init=False)
    _lock: asyncio.Lock = field(factory=asyncio.Lock, init=False, repr=False)

    def _fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self.max_age

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refetch

    async def key(self, kid: str) -> RSAPublicKey | None:
        """The key `kid`, or None when the set does not hold it.

        `JwksUnavailable` when the set had to be fetched for this kid and could not be.
        """
        if kid in self._keys and self._fresh(self.clock()):
            return self._keys[kid]
        # One fetch at a time: a burst of tokens signed with a new key asks once.
        async with self._lock:
            now = self.clock()
            known = self._keys.get(kid)
            if known is not None and self._fresh(now):
                return known
            if not self._may_fetch(now):
                if known is None and self._failing:
                    # The last fetch failed a moment ago: the key may well exist.
                    raise JwksUnavailable
                return known
            self._attempted_at = now
            try:
                self._keys = parse_jwks(await self.fetcher.fetch(self.url))
            except JwksUnavailable:
                self._failing = True
                if known is not None:
                    return known  # the key set is down; the keys we hold still verify
                raise
            self._fetched_at, self._failing = now, False
            return self._keys.get(kid)
