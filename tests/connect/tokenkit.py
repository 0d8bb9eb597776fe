"""Minting Connect tokens the way Jira and attackers do, and a tenant store to check them.

Tests sign their own tokens with PyJWT (HS256 with a tenant's secret, RS256 with an RSA
key from `cryptography`), and can build tokens PyJWT would refuse to write (duplicate
names, odd headers) with `sign_raw`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
from attrs import define, field
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agiletoolbox.adapters.connect.qsh import CONTEXT_QSH, qsh_for_url
from agiletoolbox.adapters.connect.tokens import ConnectRequest

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
APP_BASE_URL = "https://poker.example.com"
CLIENT_KEY = "4a8c2d1e-6f0b-4c3a-9e5d-7b2f1a0c9d8e"
OTHER_CLIENT_KEY = "jira:0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
SECRET = "s3cr3t-" + "a1b2c3d4" * 6
OTHER_SECRET = "other-" + "f9e8d7c6" * 6
ACCOUNT_ID = "5b10a2844c20165700ede21g"
KID = "0e50fccb-239d-4991-a5db-dc850ba3f236"


def stamp(moment: datetime) -> int:
    """Seconds since the epoch, as JWT times are written."""
    return int(moment.timestamp())


@cache
def rsa_key(name: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """A private key, generated once per name for the whole test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    """The SPKI PEM of `key`'s public half, as the install-keys server serves it."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def claims_for(
    method: str,
    url: str,
    *,
    iss: str = CLIENT_KEY,
    base_url: str = APP_BASE_URL,
    now: datetime = NOW,
    lifetime: timedelta = timedelta(minutes=3),
    **extra: Any,
) -> dict[str, Any]:
    """The claims Jira writes for a request bound to `url` (`qsh` computed)."""
    claims: dict[str, Any] = {
        "iss": iss,
        "iat": stamp(now),
        "exp": stamp(now + lifetime),
        "qsh": qsh_for_url(method, url, base_url),
        "sub": ACCOUNT_ID,
    }
    claims.update(extra)
    return claims


def context_claims(*, iss: str = CLIENT_KEY, now: datetime = NOW, **extra: Any) -> dict[str, Any]:
    """The claims of a context token from `AP.context.getToken()`."""
    claims: dict[str, Any] = {
        "iss": iss,
        "iat": stamp(now),
        "exp": stamp(now + timedelta(minutes=15)),
        "qsh": CONTEXT_QSH,
        "sub": ACCOUNT_ID,
        "context": {
            "user": {"accountId": ACCOUNT_ID},
            "jira": {
                "issue": {"key": "DEMO-7", "id": "10007", "issuetype": {"id": "10001"}},
                "project": {"key": "DEMO", "id": "10000"},
            },
        },
    }
    claims.update(extra)
    return claims


def hs256(claims: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    """An HS256 token, as Jira signs with a tenant's shared secret."""
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers or None)


def rs256(
    claims: dict[str, Any],
    key: rsa.RSAPrivateKey | None = None,
    *,
    kid: str | None = KID,
    algorithm: str = "RS256",
    **headers: Any,
) -> str:
    """An asymmetric token, as Atlassian signs installs (key `atlassian` unless told)."""
    all_headers = dict(headers)
    if kid is not None:
        all_headers["kid"] = kid
    return jwt.encode(claims, key or rsa_key("atlassian"), algorithm=algorithm, headers=all_headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_raw(
    header: bytes | dict[str, Any],
    payload: bytes | dict[str, Any],
    secret: str = SECRET,
    digest: str = "sha256",
) -> str:
    """An HMAC-signed token (HS256 unless `digest` says) over exactly these bytes."""
    header_bytes = header if isinstance(header, bytes) else json.dumps(header).encode()
    payload_bytes = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{_b64(header_bytes)}.{_b64(payload_bytes)}"
    hashed = getattr(hashlib, digest)
    signature = hmac.new(secret.encode(), signing_input.encode(), hashed).digest()
    return f"{signing_input}.{_b64(signature)}"


def sign_raw_rsa(
    header: dict[str, Any], payload: dict[str, Any], key: rsa.RSAPrivateKey | None = None
) -> str:
    """An RS256-signed token over exactly this header, which PyJWT may refuse to write."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = (key or rsa_key("atlassian")).sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{_b64(signature)}"


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A token with an empty signature (`alg: none`)."""
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}."


def page_request(
    token: str | None, target: str = "/room?issueKey=DEMO-7&view=glance"
) -> ConnectRequest:
    """A page load Jira makes: the token in `?jwt=`."""
    if token is not None:
        target += ("&" if "?" in target else "?") + f"jwt={token}"
    return ConnectRequest.from_target("GET", target)


def header_request(
    token: str | None, target: str, method: str = "GET", **kwargs: Any
) -> ConnectRequest:
    """A request with the token in `Authorization: JWT …`."""
    authorization = None if token is None else f"JWT {token}"
    return ConnectRequest.from_target(method, target, authorization=authorization, **kwargs)


@define
class FakeTenants:
    """Tenants' shared secrets by client key, and which of them may not be served."""

    secrets: dict[str, str] = field(
        factory=lambda: {CLIENT_KEY: SECRET, OTHER_CLIENT_KEY: OTHER_SECRET}
    )
    inaccessible: set[str] = field(factory=set)
    lookups: list[str] = field(factory=list)

    async def secret_for(self, client_key: str) -> str | None:
        """The secret of `client_key`, recording the lookup."""
        self.lookups.append(client_key)
        return self.secrets.get(client_key)

    async def is_accessible(self, client_key: str) -> bool:
        """Whether the tenant may be served."""
        return client_key in self.secrets and client_key not in self.inaccessible
