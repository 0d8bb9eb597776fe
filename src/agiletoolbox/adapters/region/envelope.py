"""Sealed messages between region deployments.

Both deployments hold `AGILETOOLBOX_REGION_PEER_KEY`. A message is JSON encrypted with
AES-256-GCM under a key derived from it (HKDF-SHA256), so a message that opens was written
by a holder of the key, was not altered, and cannot be read on the way (it carries a
tenant's shared secret). The associated data binds each message to what it is for - a
request, or the answer to one request - and to the time it was sealed; a message older
or newer than `MAX_AGE` is refused, so a captured one cannot be replayed later. Replays
inside that window are harmless: every step of a transfer is idempotent.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agiletoolbox.domain.errors import DomainError
from agiletoolbox.domain.timing import utc

VERSION = 1
MAX_AGE = timedelta(minutes=5)
NONCE_BYTES = 12
_INFO = b"agiletoolbox region transfer v1"


class EnvelopeRefused(Exception):
    """A message that does not open: not sealed with our key, altered, stale or malformed."""


def _derive(peer_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        peer_key.encode()
    )
    return AESGCM(key)


def _aad(purpose: str, sent_at: str) -> bytes:
    return f"{VERSION}\n{purpose}\n{sent_at}".encode()


class Sealer:
    """Seals and opens messages under one peer key."""

    def __init__(self, peer_key: str) -> None:
        self._cipher = _derive(peer_key)

    def seal(self, purpose: str, payload: dict[str, Any], *, now: datetime) -> dict[str, Any]:
        """The envelope of `payload` for `purpose` (`request`, or `answer:<nonce>`)."""
        sent_at = utc(now).isoformat()
        nonce = secrets.token_bytes(NONCE_BYTES)
        plain = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        sealed = self._cipher.encrypt(nonce, plain, _aad(purpose, sent_at))
        return {
            "v": VERSION,
            "sentAt": sent_at,
            "nonce": base64.b64encode(nonce).decode(),
            "data": base64.b64encode(sealed).decode(),
        }

    def open(self, purpose: str, envelope: object, *, now: datetime) -> dict[str, Any]:
        """The payload of an envelope sealed for `purpose`; `EnvelopeRefused` otherwise."""
        if not isinstance(envelope, dict) or envelope.get("v") != VERSION:
            raise EnvelopeRefused("not a sealed message of this version")
        sent_at, nonce, data = (envelope.get(k) for k in ("sentAt", "nonce", "data"))
        if not all(isinstance(value, str) for value in (sent_at, nonce, data)):
            raise EnvelopeRefused("the message is malformed")
        try:
            moment = utc(datetime.fromisoformat(str(sent_at)))
            raw_nonce = base64.b64decode(str(nonce), validate=True)
            sealed = base64.b64decode(str(data), validate=True)
        except (ValueError, TypeError, binascii.Error, DomainError):
            raise EnvelopeRefused("the message is malformed") from None
        if abs(utc(now) - moment) > MAX_AGE:
            raise EnvelopeRefused("the message is too old or from the future")
        if len(raw_nonce) != NONCE_BYTES:
            raise EnvelopeRefused("the message is malformed")
        try:
            plain = self._cipher.decrypt(raw_nonce, sealed, _aad(purpose, str(sent_at)))
            payload = json.loads(plain)
        except (InvalidTag, ValueError):
            raise EnvelopeRefused("the message was not sealed with our key") from None
        if not isinstance(payload, dict):
            raise EnvelopeRefused("the message is malformed")
        return payload


def answer_purpose(request_envelope: dict[str, Any]) -> str:
    """The purpose an answer to `request_envelope` is sealed for: bound to that request."""
    return f"answer:{request_envelope.get('nonce')}"
