"""Forge system tokens in PostgreSQL, encrypted at rest under the secrets' key ring.

Each ciphertext is bound to its tenant and to the purpose `forge.system_token`, so a
token copied into another row does not decrypt. A token that no longer decrypts (its key
was dropped from the ring after a rotation) reads as no token: Forge sends a fresh one
within the hour.
"""

from __future__ import annotations

from agiletoolbox.adapters.postgres.encryption import KeyRing, UndecryptableSecret
from agiletoolbox.adapters.postgres.session import Session
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.ports.forge import SystemToken

SYSTEM_TOKEN = "forge.system_token"  # noqa: S105 - a label, not a secret
"""The purpose the token's ciphertext is bound to."""

# A token from a late or repeated delivery never replaces a fresher one of the same
# installation; a token of a new installation (a re-install) always does.
_SAVE = """
INSERT INTO forge_tokens (tenant_key, installation_id, api_base_url, system_token, expires_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_key) DO UPDATE SET
    installation_id = excluded.installation_id, api_base_url = excluded.api_base_url,
    system_token = excluded.system_token, expires_at = excluded.expires_at
WHERE forge_tokens.installation_id <> excluded.installation_id
   OR forge_tokens.expires_at <= excluded.expires_at
"""


class PostgresSystemTokenRepository:
    """The latest system token of each tenant."""

    def __init__(self, connection: Session, keys: KeyRing) -> None:
        self._connection = connection
        self._keys = keys

    async def get(self, tenant: TenantKey) -> SystemToken | None:
        """The tenant's token, or None (also when it no longer decrypts)."""
        row = await self._connection.fetchrow(
            "SELECT installation_id, api_base_url, system_token, expires_at "
            "FROM forge_tokens WHERE tenant_key = $1",
            tenant.value,
        )
        if row is None:
            return None
        try:
            token = self._keys.decrypt(
                row["system_token"], tenant=tenant.value, purpose=SYSTEM_TOKEN
            )
        except UndecryptableSecret:
            return None
        return SystemToken(
            tenant=tenant,
            installation_id=row["installation_id"],
            api_base_url=row["api_base_url"],
            token=token,
            expires_at=row["expires_at"],
        )

    async def save(self, token: SystemToken) -> None:
        """Keep `token` unless the one kept for the same installation expires later."""
        await self._connection.write(
            _SAVE,
            token.tenant.value,
            token.installation_id,
            token.api_base_url,
            self._keys.encrypt(token.token, tenant=token.tenant.value, purpose=SYSTEM_TOKEN),
            token.expires_at,
        )

    async def delete(self, tenant: TenantKey) -> None:
        """Forget the tenant's token."""
        await self._connection.write("DELETE FROM forge_tokens WHERE tenant_key = $1", tenant.value)
