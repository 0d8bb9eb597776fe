"""Atlassian's public keys for signed installs: fetched by key id, checked, cached.

Jira signs `installed` and `uninstalled` with RS256 and names the key in the token's
`kid`; the public key is a PEM at `<install keys URL>/<kid>` (connect.md §3). The `kid`
comes from an unverified token, so it is matched against a strict pattern before it is
ever put in a URL (reliability.md §2 J4): segments of letters, digits, `-` and `_`
separated by single `/` - no dots, `%`, `\\`, `?`, `#` or scheme, so the URL cannot leave
the key server's path. Keys rotate under new ids (Atlassian staff: "you can cache them by
kid"), so a key once fetched is kept, in a cache bounded by count.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from typing import Protocol

import aiohttp
from attrs import define, field, frozen
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

DEFAULT_INSTALL_KEYS_URL = "https://connect-install-keys.atlassian.com"
MIN_RSA_BITS = 2048
MAX_KEY_BYTES = 16 * 1024
FETCH_TIMEOUT_SECONDS = 10.0

_KEY_ID = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*")
_MAX_KEY_ID_LENGTH = 256


class InstallKeyNotFound(Exception):
    """The key server does not know the key id (HTTP 404): the token is not Atlassian's."""


class InstallKeyUnavailable(Exception):
    """The key server could not be asked or answered badly; trying again may work."""


def valid_key_id(kid: object) -> bool:
    """Whether `kid` is safe to put in a URL path (see the module docstring)."""
    return isinstance(kid, str) and len(kid) <= _MAX_KEY_ID_LENGTH and bool(_KEY_ID.fullmatch(kid))


def load_rsa_public_key(pem: str) -> RSAPublicKey:
    """An RSA public key (at least 2048 bits) from a PEM; `ValueError` for anything else."""
    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise ValueError("not a PEM public key") from None
    if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise ValueError("not an RSA public key of at least 2048 bits")
    return key


class KeyFetcher(Protocol):
    """Fetches a key document by URL."""

    async def fetch(self, url: str) -> str:
        """The body at `url`; `InstallKeyNotFound` on 404, `InstallKeyUnavailable` else."""
        ...


@frozen
class AiohttpKeyFetcher:
    """Fetches keys with the process's shared `aiohttp.ClientSession`.

    Bounded in time and size, and redirects are not followed: the key server answers
    with the key or not at all.
    """

    session: aiohttp.ClientSession
    timeout: float = FETCH_TIMEOUT_SECONDS
    max_bytes: int = MAX_KEY_BYTES

    async def fetch(self, url: str) -> str:
        """The body at `url`; `InstallKeyNotFound` on 404, `InstallKeyUnavailable` else."""
        try:
            async with self.session.get(
                url,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
                headers={"Accept": "application/x-pem-file, text/plain, */*"},
            ) as response:
                if response.status == 404:
                    raise InstallKeyNotFound
                if response.status != 200:
                    raise InstallKeyUnavailable
                body = await response.content.read(self.max_bytes + 1)
        except (aiohttp.ClientError, TimeoutError):
            raise InstallKeyUnavailable from None
        if len(body) > self.max_bytes:
            raise InstallKeyUnavailable
        try:
            return body.decode("ascii")
        except UnicodeDecodeError:
            raise InstallKeyUnavailable from None


@define
class MemoryKeyFetcher:
    """Keys held in a dictionary by URL, for tests and the simulator; records each fetch."""

    documents: dict[str, str] = field(factory=dict)
    unavailable: bool = False
    fetched: list[str] = field(factory=list)

    async def fetch(self, url: str) -> str:
        """The document at `url`; `InstallKeyNotFound` when there is none."""
        self.fetched.append(url)
        if self.unavailable:
            raise InstallKeyUnavailable
        try:
            return self.documents[url]
        except KeyError:
            raise InstallKeyNotFound from None


@define
class InstallKeys:
    """Public keys of signed installs by `kid`, from `keys_url`, cached (LRU) by kid.

    Satisfies the `InstallKeyProvider` port. Only keys that parse as RSA public keys of
    2048 bits or more are cached; failures are not, so a retry asks the server again.
    """

    fetcher: KeyFetcher
    keys_url: str = DEFAULT_INSTALL_KEYS_URL
    capacity: int = 64
    _cache: OrderedDict[str, str] = field(factory=OrderedDict, init=False, repr=False)
    _lock: asyncio.Lock = field(factory=asyncio.Lock, init=False, repr=False)

    def url_for(self, kid: str) -> str:
        """The URL of key `kid`; `ValueError` when the kid is not safe to put in a URL."""
        if not valid_key_id(kid):
            raise ValueError("the key id is not valid")
        return f"{self.keys_url.rstrip('/')}/{kid}"

    async def public_key(self, kid: str) -> str:
        """The PEM public key `kid`: `InstallKeyNotFound`, `InstallKeyUnavailable` or it."""
        url = self.url_for(kid)
        cached = self._cache.get(kid)
        if cached is not None:
            self._cache.move_to_end(kid)
            return cached
        # One fetch at a time: a burst of installs signed with a new key asks once.
        async with self._lock:
            cached = self._cache.get(kid)
            if cached is not None:
                return cached
            pem = await self.fetcher.fetch(url)
            try:
                load_rsa_public_key(pem)
            except ValueError:
                raise InstallKeyUnavailable from None
            self._cache[kid] = pem
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
            return pem
