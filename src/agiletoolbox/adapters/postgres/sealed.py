"""Every column that holds a secret, encrypted under the deployment's key ring.

Rotation re-encrypts each of them, and a region transfer opens them on the way out and
seals them under the receiving deployment's key on the way in.
"""

from __future__ import annotations

from collections.abc import Mapping

from agiletoolbox.adapters.postgres.forge_tokens import SYSTEM_TOKEN
from agiletoolbox.adapters.postgres.records import SHARED_SECRET

SEALED_COLUMNS: Mapping[tuple[str, str], str] = {
    ("tenants", "shared_secret"): SHARED_SECRET,
    ("forge_tokens", "system_token"): SYSTEM_TOKEN,
}
"""(table, column) -> the purpose its ciphertext is bound to (with the row's tenant)."""
