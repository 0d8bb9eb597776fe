"""What a region migration needs: where migrations and arrived copies are kept, a tenant's
whole data set as one bundle, and the deployment of the other region.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from attrs import field, frozen
from attrs.validators import instance_of

from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.residency import Arrival, Migration
from agiletoolbox.domain.tenant import Region


@frozen
class TenantBundle:
    """Everything stored of one tenant, as bytes an adapter wrote and can read back.

    The shared secret is inside in plain text (each deployment encrypts under its own key),
    so a bundle travels only sealed (see `adapters/region`) and is never written to disk.
    """

    tenant: TenantKey = field(validator=instance_of(TenantKey))
    data: bytes = field(validator=instance_of(bytes), repr=False)

    @property
    def digest(self) -> str:
        """SHA-256 of the data, hex: what both deployments compare."""
        return hashlib.sha256(self.data).hexdigest()


class MigrationRepository(Protocol):
    """The migrations this deployment drives as the source (one per tenant at a time)."""

    async def get(self, tenant: TenantKey) -> Migration | None:
        """The tenant's latest migration, or None."""
        ...

    async def save(self, migration: Migration) -> None:
        """Insert or replace the tenant's migration; `ConcurrentChange` on a lost race."""
        ...

    async def active(self) -> Sequence[Migration]:
        """Every migration neither committed nor rolled back."""
        ...


class ArrivalRepository(Protocol):
    """Copies that arrived from another region and are not yet the tenant."""

    async def get(self, tenant: TenantKey) -> Arrival | None:
        """The arrived copy of the tenant, or None."""
        ...

    async def delete(self, tenant: TenantKey) -> None:
        """Forget the arrival (the copy itself stays: it has become the tenant)."""
        ...

    async def staged_before(self, cutoff: datetime) -> Sequence[TenantKey]:
        """Tenants whose copy arrived before `cutoff` and was never committed."""
        ...


class TenantArchive(Protocol):
    """A tenant's whole data set, read out as one bundle and written in as one."""

    async def export(self, tenant: TenantKey) -> TenantBundle:
        """Every row of the tenant; `NotFound` when there is none."""
        ...

    async def stage(self, bundle: TenantBundle, arrival: Arrival, here: Region) -> str:
        """Write the bundle as an arrived copy (replacing an earlier arrival of it), in one
        transaction, and return the digest of what was stored, read back.

        `InvalidState` when the tenant is already served here, or when the copy is not of
        a site moving from `arrival.source` to `here`; nothing is stored then.
        """
        ...


class RegionPeer(Protocol):
    """The deployment of another region, reached over the authenticated transfer route."""

    async def stage(self, target: Region, migration_id: str, bundle: TenantBundle) -> None:
        """Deliver the copy; `TransferFailed` unless the target stored exactly this bundle."""
        ...

    async def commit(self, target: Region, tenant: TenantKey, migration_id: str) -> None:
        """Make the target's copy the tenant; `TransferFailed` when it did not answer so."""
        ...

    async def rollback(self, target: Region, tenant: TenantKey, migration_id: str) -> None:
        """Have the target discard its copy; `TransferFailed` when it did not answer so."""
        ...
