"""In-memory Forge system tokens, staged until the unit of work commits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.ports.forge import SystemToken

if TYPE_CHECKING:
    from agiletoolbox.adapters.memory.store import MemoryStore


def keeps(current: SystemToken | None, offered: SystemToken) -> bool:
    """Whether `current` stays: same installation and it expires no earlier than `offered`."""
    return (
        current is not None
        and current.installation_id == offered.installation_id
        and current.expires_at > offered.expires_at
    )


class MemorySystemTokenRepository:
    """The latest system token of each tenant."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._staged: dict[TenantKey, SystemToken | None] = {}

    async def get(self, tenant: TenantKey) -> SystemToken | None:
        """The tenant's token, or None."""
        if tenant in self._staged:
            return self._staged[tenant]
        return self._store.system_tokens.get(tenant)

    async def save(self, token: SystemToken) -> None:
        """Stage `token` unless the kept one (same installation) expires later."""
        if not keeps(await self.get(token.tenant), token):
            self._staged[token.tenant] = token

    async def delete(self, tenant: TenantKey) -> None:
        """Stage forgetting the tenant's token."""
        self._staged[tenant] = None

    def apply(self) -> None:
        """Write the staged tokens."""
        for tenant, token in self._staged.items():
            if token is None:
                self._store.system_tokens.pop(tenant, None)
            else:
                self._store.system_tokens[tenant] = token
