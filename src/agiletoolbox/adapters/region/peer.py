"""The client side of a transfer: this deployment talking to another region's.

Every call is one sealed POST to `{region base URL}/region/transfer`, answered by a sealed
message bound to that request; anything else - no answer, another status, an answer that
does not open, a digest that differs - is `TransferFailed`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import aiohttp

from agiletoolbox.adapters.region.envelope import EnvelopeRefused, Sealer, answer_purpose
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.residency import TransferFailed
from agiletoolbox.domain.tenant import Region
from agiletoolbox.ports import Clock
from agiletoolbox.ports.residency import TenantBundle

TRANSFER_PATH = "/region/transfer"
TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)


class HttpRegionPeer:
    """`RegionPeer` over HTTP, sealed with the shared peer key."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        sealer: Sealer,
        base_urls: Mapping[Region, str],
        source: Region,
        clock: Clock,
    ) -> None:
        self._session = session
        self._sealer = sealer
        self._urls = dict(base_urls)
        self._source = source
        self._clock = clock

    async def stage(self, target: Region, migration_id: str, bundle: TenantBundle) -> None:
        """Deliver the copy; the target must answer with the digest it stored."""
        answer = await self._call(
            target,
            "stage",
            bundle.tenant,
            migration_id,
            bundle=base64.b64encode(bundle.data).decode(),
            digest=bundle.digest,
        )
        if answer.get("digest") != bundle.digest:
            raise TransferFailed("the target stored a different copy")

    async def commit(self, target: Region, tenant: TenantKey, migration_id: str) -> None:
        """Make the target's copy the tenant."""
        await self._call(target, "commit", tenant, migration_id)

    async def rollback(self, target: Region, tenant: TenantKey, migration_id: str) -> None:
        """Have the target discard its copy."""
        await self._call(target, "rollback", tenant, migration_id)

    async def _call(
        self, target: Region, op: str, tenant: TenantKey, migration_id: str, **extra: str
    ) -> dict[str, Any]:
        base = self._urls.get(target)
        if base is None:
            raise TransferFailed(f"no base URL is configured for {target.value}")
        payload = {
            "op": op,
            "source": self._source.value,
            "target": target.value,
            "tenant": tenant.value,
            "migrationId": migration_id,
            **extra,
        }
        envelope = self._sealer.seal("request", payload, now=self._clock.now())
        try:
            async with self._session.post(
                base.rstrip("/") + TRANSFER_PATH, json=envelope, timeout=TIMEOUT
            ) as response:
                if response.status != 200:
                    raise TransferFailed(
                        f"the {target.value} deployment answered {response.status}"
                    )
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise TransferFailed(
                f"the {target.value} deployment could not be reached ({type(error).__name__})"
            ) from None
        try:
            answer = self._sealer.open(answer_purpose(envelope), body, now=self._clock.now())
        except EnvelopeRefused:
            raise TransferFailed("the answer was not sealed with the peer key") from None
        if answer.get("ok") is not True:
            reason = str(answer.get("message", ""))[:200]
            raise TransferFailed(f"the {target.value} deployment refused the {op}: {reason}")
        return answer


class NoPeer:
    """`RegionPeer` of a deployment without a peer key: migration is off, nothing is sent."""

    async def stage(self, target: Region, migration_id: str, bundle: TenantBundle) -> None:
        """Refused: no other region is reachable."""
        raise TransferFailed("region migration is off here")

    async def commit(self, target: Region, tenant: TenantKey, migration_id: str) -> None:
        """Refused: no other region is reachable."""
        raise TransferFailed("region migration is off here")

    async def rollback(self, target: Region, tenant: TenantKey, migration_id: str) -> None:
        """Nothing was sent anywhere, so there is nothing to discard."""
