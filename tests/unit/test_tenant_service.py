"""Lifecycle use cases: idempotent, order-safe, signed re-installs only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agiletoolbox.adapters.memory import ManualClock, MemoryStore
from agiletoolbox.domain.errors import InvalidValue, NotPermitted
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.tenant import Region, TenantState
from agiletoolbox.services.tenants import Installation, TenantService
from tests.unit.roomkit import T0

KEY = TenantKey("client-key-1")
SITE = "https://acme.atlassian.net"
SECRET = "a-shared-secret-of-enough-length-0001"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def service(store: MemoryStore, clock: ManualClock) -> TenantService:
    return TenantService(store.unit_of_work, clock, RetentionPolicy(), Region.EU, production=True)


async def test_install_is_idempotent(service: TenantService, store: MemoryStore) -> None:
    first = await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    assert first.region is Region.EU
    assert first.accessible
    commits = store.commits
    again = await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    assert again.version == first.version
    assert store.commits == commits, "a repeated call changes nothing"


async def test_production_refuses_sites_outside_atlassian(service: TenantService) -> None:
    with pytest.raises(InvalidValue):
        await service.installed(
            Installation(KEY, "http://evil.example", SECRET), authenticated=True
        )


async def test_the_secret_rotates_only_when_authenticated(
    service: TenantService, store: MemoryStore
) -> None:
    await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    new_secret = "another-shared-secret-of-length-0002"
    with pytest.raises(NotPermitted):
        await service.installed(Installation(KEY, SITE, new_secret), authenticated=False)
    assert store.tenants[KEY].shared_secret == SECRET
    await service.installed(Installation(KEY, SITE, new_secret), authenticated=True)
    assert store.tenants[KEY].shared_secret == new_secret


async def test_lifecycle_is_order_safe(service: TenantService, store: MemoryStore) -> None:
    await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    assert await service.enabled(KEY)
    assert not await service.enabled(KEY)
    assert await service.disabled(KEY)
    assert not store.tenants[KEY].accessible
    assert await service.uninstalled(KEY)
    assert not await service.enabled(KEY), "a late enabled never revives an uninstall"
    assert not await service.disabled(KEY)
    assert store.tenants[KEY].state is TenantState.UNINSTALLED
    assert not await service.enabled(TenantKey("unknown"))


async def test_reinstall_inside_the_window_restores(
    service: TenantService, store: MemoryStore, clock: ManualClock
) -> None:
    await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    await service.uninstalled(KEY)
    clock.advance(timedelta(days=10))
    restored = await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    assert restored.accessible
    assert restored.installed_at == T0


async def test_reinstall_after_the_window_starts_afresh(
    service: TenantService, store: MemoryStore, clock: ManualClock
) -> None:
    await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    await service.uninstalled(KEY)
    clock.advance(timedelta(days=31))
    fresh = await service.installed(Installation(KEY, SITE, SECRET), authenticated=True)
    assert fresh.installed_at == clock.now()
    assert fresh.version == 1
