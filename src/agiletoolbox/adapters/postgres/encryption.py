"""Secrets at rest: AES-256-GCM under a ring of keys, each named by a key id.

Key ring (`AGILETOOLBOX_SECRET_KEY`): a comma-separated list of keys, the first one current.
Each entry is `kid:base64` or a bare `base64` of exactly 32 random bytes (standard or
URL-safe alphabet, padding optional); a bare key is named `k` + the first 8 hex digits of
its SHA-256, so a single key works without naming it. Examples::

    AGILETOOLBOX_SECRET_KEY="Zm9v...="                    # one key
    AGILETOOLBOX_SECRET_KEY="k2:QmFy...=,k1:Zm9v...="     # k2 encrypts; k1 still decrypts

To rotate: put the new key first and keep the old ones after it, restart, run
`agiletoolbox rotate-secret-key` (which re-encrypts every row under the current key), then
drop the old keys from the setting.

Stored form (ASCII text, safe in a `text` column and in logs of row counts)::

    v1:<kid>:<base64url(nonce[12] || ciphertext || tag[16])>

The associated data binds each ciphertext to its purpose and its tenant key, so a value
copied into another tenant's row (or another column) fails to decrypt instead of handing
one site another site's secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from attrs import field, frozen
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
DEV_KEY_FILE = "secret.key"
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class SecretKeyError(ValueError):
    """The secret key setting is missing or malformed (the message never shows a key)."""


class UndecryptableSecret(ValueError):
    """A stored secret does not decrypt: unknown key id, wrong row, or tampered."""


def _decode_key(text: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise SecretKeyError("a secret key is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise SecretKeyError(f"a secret key must be {KEY_BYTES} bytes, base64-encoded")
    return raw


def derived_kid(key: bytes) -> str:
    """The key id of a key given without one."""
    return "k" + hashlib.sha256(key).hexdigest()[:8]


@frozen
class KeyRing:
    """The keys that decrypt, the first of which encrypts."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)

    @classmethod
    def parse(cls, setting: str) -> KeyRing:
        """The ring described by the `AGILETOOLBOX_SECRET_KEY` syntax (see the module doc)."""
        entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
        if not entries:
            raise SecretKeyError("the secret key setting is empty")
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for entry in entries:
            kid, sep, encoded = entry.partition(":")
            if not sep:
                key = _decode_key(entry)
                kid = derived_kid(key)
            else:
                if not _KID.fullmatch(kid):
                    raise SecretKeyError("a key id has 1 to 32 letters, digits, '-' or '_'")
                key = _decode_key(encoded)
            if kid in keys:
                raise SecretKeyError(f"the key id {kid} appears twice")
            keys[kid] = key
            order.append(kid)
        return cls(current=order[0], keys=keys)

    @classmethod
    def generate(cls) -> KeyRing:
        """A ring of one fresh random key (development and tests)."""
        key = secrets.token_bytes(KEY_BYTES)
        return cls(current=derived_kid(key), keys={derived_kid(key): key})

    def encrypt(self, plaintext: str, *, tenant: str, purpose: str) -> str:
        """The stored form of `plaintext`, bound to `tenant` and `purpose`."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode(), _associated(self.current, tenant, purpose)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{FORMAT}:{self.current}:{body}"

    def decrypt(self, stored: str, *, tenant: str, purpose: str) -> str:
        """The plaintext of a stored secret; `UndecryptableSecret` when it is not ours."""
        version, _, rest = stored.partition(":")
        kid, _, body = rest.partition(":")
        key = self.keys.get(kid)
        if version != FORMAT or key is None:
            raise UndecryptableSecret("the secret was stored under an unknown key")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = AESGCM(key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(kid, tenant, purpose)
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise UndecryptableSecret("the secret does not decrypt for this row") from None
        return plain.decode()

    def is_current(self, stored: str) -> bool:
        """Whether a stored secret is already under the current key."""
        return stored.startswith(f"{FORMAT}:{self.current}:")

    def __repr__(self) -> str:
        return f"KeyRing(current={self.current!r}, kids={sorted(self.keys)!r})"


def _associated(kid: str, tenant: str, purpose: str) -> bytes:
    # JSON keeps the fields unambiguous whatever characters a tenant key holds.
    return json.dumps(["agiletoolbox-secret", FORMAT, kid, purpose, tenant]).encode()


def development_key(data_dir: Path) -> str:
    """The development key kept in `data_dir`, created (mode 0600) on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        draft = data_dir / f".{DEV_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        try:
            # A hard link appears complete or not at all and never replaces a key that
            # another process kept first, so two processes starting at once agree on one.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()


def key_ring(setting: str | None, *, production: bool, data_dir: Path) -> KeyRing:
    """The ring from the setting; in development a kept generated key; in production an error."""
    if setting:
        return KeyRing.parse(setting)
    if production:
        raise SecretKeyError(
            "AGILETOOLBOX_SECRET_KEY is required in production "
            "(base64 of 32 random bytes, e.g. `openssl rand -base64 32`)"
        )
    return KeyRing.parse(development_key(data_dir))
