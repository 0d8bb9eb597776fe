"""Re-encrypting secrets at rest under the current key (`agiletoolbox rotate-secret-key`)."""

from __future__ import annotations

from agiletoolbox.adapters.postgres.encryption import KeyRing
from agiletoolbox.adapters.postgres.records import SHARED_SECRET
from agiletoolbox.adapters.postgres.schema import Connection

BATCH = 500


async def rotate_secrets(connection: Connection, keys: KeyRing) -> int:
    """Re-encrypt every stored secret not yet under the current key; returns how many.

    Works in batches, each in its own transaction with the rows locked, so it can run
    while the app serves and can be interrupted and run again.
    """
    rotated = 0
    while True:
        async with connection.transaction():
            rows = await connection.fetch(
                "SELECT tenant_key, shared_secret FROM tenants "
                "WHERE shared_secret NOT LIKE $1 ORDER BY tenant_key LIMIT $2 "
                "FOR UPDATE SKIP LOCKED",
                f"v1:{keys.current}:%",
                BATCH,
            )
            for row in rows:
                tenant = row["tenant_key"]
                plain = keys.decrypt(row["shared_secret"], tenant=tenant, purpose=SHARED_SECRET)
                await connection.execute(
                    "UPDATE tenants SET shared_secret = $2 WHERE tenant_key = $1",
                    tenant,
                    keys.encrypt(plain, tenant=tenant, purpose=SHARED_SECRET),
                )
        rotated += len(rows)
        if len(rows) < BATCH:
            return rotated
