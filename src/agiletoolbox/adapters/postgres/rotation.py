"""Re-encrypting secrets at rest under the current key (`agiletoolbox rotate-secret-key`)."""

from __future__ import annotations

from agiletoolbox.adapters.postgres.encryption import KeyRing
from agiletoolbox.adapters.postgres.schema import Connection
from agiletoolbox.adapters.postgres.sealed import SEALED_COLUMNS

BATCH = 500


async def rotate_secrets(connection: Connection, keys: KeyRing) -> int:
    """Re-encrypt every stored secret not yet under the current key; returns how many.

    Covers every sealed column (`sealed.SEALED_COLUMNS`). Works in batches, each in its
    own transaction with the rows locked, so it can run while the app serves and can be
    interrupted and run again.
    """
    rotated = 0
    for (table, column), purpose in SEALED_COLUMNS.items():
        while True:
            async with connection.transaction():
                rows = await connection.fetch(
                    f'SELECT tenant_key, "{column}" AS sealed FROM {table} '  # noqa: S608 - fixed names
                    f'WHERE "{column}" NOT LIKE $1 ORDER BY tenant_key LIMIT $2 '
                    "FOR UPDATE SKIP LOCKED",
                    f"v1:{keys.current}:%",
                    BATCH,
                )
                for row in rows:
                    tenant = row["tenant_key"]
                    plain = keys.decrypt(row["sealed"], tenant=tenant, purpose=purpose)
                    await connection.execute(
                        f'UPDATE {table} SET "{column}" = $2 WHERE tenant_key = $1',  # noqa: S608
                        tenant,
                        keys.encrypt(plain, tenant=tenant, purpose=purpose),
                    )
            rotated += len(rows)
            if len(rows) < BATCH:
                break
    return rotated
