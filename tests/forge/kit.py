"""Minting Forge invocation tokens the way Forge and attackers do, and a key set to check them.

Tokens are signed with PyJWT (RS256 with a key from `cryptography`), or built raw with
`sign_raw` where PyJWT would refuse to write them (odd headers, duplicate names).
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

from agiletoolbox.adapters.forge.jwks import JwksUnavailable

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
APP_ID = "ari:cloud:ecosystem::app/8db33809-1f32-48bb-8c52-5877dab48107"
OTHER_APP_ID = "ari:cloud:ecosystem::app/00000000-1f32-48bb-8c52-5877dab48107"
INSTALLATION = "ari:cloud:ecosystem::installation/0a3a7799-53ae-4a5b-9e7e-03338980abb5"
CLOUD_ID = "d0d52620-3203-4cfa-8db5-f2587155f0dd"
API_BASE_URL = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
PRINCIPAL = "655362:312d3308-8954-42b0-aa38-771a10c88656"
JWKS_URL = "https://forge.example/.well-known/jwks.json"
KID = "forge-key-1"


@cache
def rsa_key(name: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """A private key, generated once per name for the whole test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    """The public JWK of `key` under `kid`, as Forge's key set lists it."""
    entry: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    entry.update({"kid": kid, "use": "sig", "alg": "RS256", **extra})
    return entry


def jwks(*entries: dict[str, Any]) -> bytes:
    """A key set document."""
    return json.dumps({"keys": list(entries)}).encode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    """The SPKI PEM of `key`'s public half."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def stamp(moment: datetime) -> int:
    """Seconds since the epoch, as JWT times are written."""
    return int(moment.timestamp())


def claims(
    *,
    now: datetime = NOW,
    principal: str | None = PRINCIPAL,
    issue: str | None = "DEMO-1",
    **overrides: Any,
) -> dict[str, Any]:
    """The claims of a UI call from a Jira issue panel, as the Forge docs show them."""
    body: dict[str, Any] = {
        "app": {
            "id": APP_ID,
            "version": "16",
            "appVersion": "16.0.1",
            "installationId": INSTALLATION,
            "apiBaseUrl": API_BASE_URL,
            "environment": {
                "type": "PRODUCTION",
                "id": "ari:cloud:ecosystem::environment/8db33809/aa911f10",
            },
            "module": {"type": "jira:issuePanel", "key": "poker-panel"},
            "installation": {
                "id": INSTALLATION,
                "contexts": [{"name": "jira", "apiBaseUrl": API_BASE_URL, "cloudId": CLOUD_ID}],
            },
        },
        "context": {
            "localId": "4654fa12-4c7c-4792-95a9-6019edb27953",
            "cloudId": CLOUD_ID,
            "moduleKey": "poker-panel",
            "siteUrl": "https://acme.atlassian.net",
            "extension": {
                "type": "jira:issuePanel",
                **(
                    {
                        "issue": {"id": "10001", "key": issue, "type": "Story", "typeId": "10001"},
                        "project": {"id": "10000", "key": "DEMO", "type": "software"},
                    }
                    if issue is not None
                    else {}
                ),
            },
        },
        "aud": APP_ID,
        "iss": "forge/invocation-token",
        "iat": stamp(now),
        "nbf": stamp(now),
        "exp": stamp(now + timedelta(seconds=25)),
        "jti": "d8a496253ec8c18a54631e4c82cbedd5d0ae8570",
    }
    if principal is not None:
        body["principal"] = principal
    body.update(overrides)
    return body


def sign(
    body: dict[str, Any],
    key: rsa.RSAPrivateKey | None = None,
    kid: str | None = KID,
    algorithm: str = "RS256",
) -> str:
    """An RS256 (or other RSA) token over `body` with `key`, naming `kid`."""
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(body, key or rsa_key("forge"), algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def raw_input(header: dict[str, Any] | str, body: dict[str, Any] | str) -> str:
    """The signing input of a token whose parts are written exactly as given."""
    parts = [value if isinstance(value, str) else json.dumps(value) for value in (header, body)]
    return ".".join(_b64(part.encode()) for part in parts)


def sign_raw(
    header: dict[str, Any] | str,
    body: dict[str, Any] | str,
    key: rsa.RSAPrivateKey | None = None,
) -> str:
    """A token with these exact parts, RS256-signed with `key` whatever the header says."""
    signing_input = raw_input(header, body)
    signature = (key or rsa_key("forge")).sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{_b64(signature)}"


def hmac_signed(header: dict[str, Any], body: dict[str, Any], secret: str) -> str:
    """A token with these parts signed HMAC-SHA256 with `secret` (an attacker's forgery)."""
    signing_input = raw_input(header, body)
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


@define
class MemoryJwksFetcher:
    """A key set server in a dictionary: counts fetches, can be taken down."""

    documents: dict[str, bytes] = field(factory=dict)
    down: bool = False
    fetched: list[str] = field(factory=list)

    async def fetch(self, url: str) -> bytes:
        """The document at `url`; `JwksUnavailable` when down or unknown."""
        self.fetched.append(url)
        if self.down or url not in self.documents:
            raise JwksUnavailable
        return self.documents[url]


@define
class Ticking:
    """A monotonic clock moved by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now
