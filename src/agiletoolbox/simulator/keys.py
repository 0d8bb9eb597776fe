"""Atlassian's install-keys server: RSA keys that sign installs, served as PEM by key id.

Keys are RSA 2048, generated when the simulator starts. `GET /install-keys/<kid>` answers
the public key as `-----BEGIN PUBLIC KEY-----` PEM (X.509 SubjectPublicKeyInfo) or 404,
as `connect-install-keys.atlassian.com/<kid>` does (connect.md §3). The app is pointed at
it with `AGILETOOLBOX_INSTALL_KEYS_URL=<origin>/install-keys`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from attrs import define, field
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agiletoolbox.simulator.tokens import encode_rs256

KEYS_PREFIX = "/install-keys"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@define
class InstallKeyRing:
    """The signing keys; `current_kid` signs, every key not forgotten is served."""

    _keys: dict[str, rsa.RSAPrivateKey] = field(factory=dict, repr=False)
    current_kid: str = ""
    withdrawn: set[str] = field(factory=set)
    """Kids the key server answers 404 for (they may still sign: a forged install)."""
    fetches: list[str] = field(factory=list)
    """Every kid asked for, in order (to see whether the app caches keys)."""

    def __attrs_post_init__(self) -> None:
        if not self.current_kid:
            self.rotate()

    def rotate(self) -> str:
        """Start signing with a fresh key under a new kid; return the kid."""
        kid = str(uuid.uuid4())
        self._keys[kid] = _new_key()
        self.current_kid = kid
        return kid

    def forget(self, kid: str) -> None:
        """Stop serving `kid` (the key server answers 404 for it)."""
        self.withdrawn.add(kid)

    def public_pem(self, kid: str) -> str | None:
        """The PEM public key of `kid`, if served."""
        key = self._keys.get(kid)
        if key is None or kid in self.withdrawn:
            return None
        return (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign(self, claims: Mapping[str, Any]) -> str:
        """An RS256 token over `claims` with the current key and its `kid` header."""
        return encode_rs256(claims, self._keys[self.current_kid], self.current_kid)

    async def serve(self, request: web.Request) -> web.Response:
        """`GET /install-keys/{kid}`: the PEM, or 404."""
        kid = request.match_info["kid"]
        self.fetches.append(kid)
        pem = self.public_pem(kid)
        if pem is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(text=pem, content_type="application/x-pem-file")
