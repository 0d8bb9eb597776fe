"""A tenant's data set read out of and written into the in-memory store, for tests.

The bundle's bytes name a snapshot kept in this process (the objects themselves are not
serialised), so bundles move between stores of one process only - enough for the services'
unit tests; the PostgreSQL archive is the real one.
"""

from __future__ import annotations

import copy
import json
import secrets

from attrs import frozen

from agiletoolbox.adapters.memory.store import MemoryStore
from agiletoolbox.domain.defaults import SavedDefaults
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.errors import InvalidState, InvalidValue, NotFound
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.reporting import ReportCycle
from agiletoolbox.domain.residency import Arrival
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.tenant import Region, Tenant
from agiletoolbox.ports.residency import TenantBundle


@frozen
class _Snapshot:
    tenant: Tenant
    rooms: tuple[Room, ...]
    defaults: tuple[SavedDefaults, ...]
    error_reports: tuple[ErrorReport, ...]
    report_cycle: ReportCycle | None


_SNAPSHOTS: dict[str, _Snapshot] = {}


class MemoryTenantArchive:
    """`TenantArchive` over a `MemoryStore`."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def export(self, tenant: TenantKey) -> TenantBundle:
        """A snapshot of every record of the tenant."""
        store = self._store
        found = store.tenants.get(tenant)
        if found is None:
            raise NotFound("no such site")
        snapshot = copy.deepcopy(
            _Snapshot(
                tenant=found,
                rooms=tuple(room for key, room in store.rooms.items() if key[0] == tenant),
                defaults=tuple(d for k, d in store.defaults.items() if k.tenant == tenant),
                error_reports=tuple(r for r in store.error_reports if r.tenant == tenant),
                report_cycle=store.report_cycles.get(tenant),
            )
        )
        token = secrets.token_hex(16)
        _SNAPSHOTS[token] = snapshot
        data = json.dumps({"tenant": tenant.value, "snapshot": token}, sort_keys=True)
        return TenantBundle(tenant, data.encode())

    async def stage(self, bundle: TenantBundle, arrival: Arrival, here: Region) -> str:
        """Write the snapshot as an arrived copy; the digest of the bundle it came from."""
        store = self._store
        try:
            snapshot = copy.deepcopy(_SNAPSHOTS[json.loads(bundle.data)["snapshot"]])
        except (KeyError, ValueError, TypeError):
            raise InvalidValue("the bundle names no snapshot of this process") from None
        key = snapshot.tenant.key
        if key != bundle.tenant or key != arrival.tenant:
            raise InvalidValue("the bundle is of another site")
        if key in store.tenants and key not in store.arrivals:
            raise InvalidState("the site is served here")
        if (snapshot.tenant.region, snapshot.tenant.moving_to) != (arrival.source, here):
            raise InvalidState("the copy is not of a site moving to this region")
        store.purge_tenant(key)
        store.tenants[key] = snapshot.tenant
        store.rooms.update({(key, room.id): room for room in snapshot.rooms})
        store.defaults.update({d.key: d for d in snapshot.defaults})
        store.error_reports.extend(snapshot.error_reports)
        if snapshot.report_cycle is not None:
            store.report_cycles[key] = snapshot.report_cycle
        store.arrivals[key] = arrival
        return bundle.digest
