"""Tenant saves are guarded by version, on memory and PostgreSQL alike."""

from __future__ import annotations

import pytest

from agiletoolbox.domain.errors import ConcurrentChange
from agiletoolbox.domain.tenant import Tenant, TenantState
from agiletoolbox.ports import UnitOfWork, UnitOfWorkFactory
from tests.contract.kit import SITE, at, install, tenant


async def save_and_commit(work: UnitOfWork, changed: Tenant) -> None:
    """Save and commit: the conflict surfaces at one or the other, by adapter."""
    await work.tenants.save(changed)
    await work.commit()


async def test_a_lost_race_on_a_tenant_is_a_conflict(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant())
    async with uow() as first, uow() as second:
        disabling = await first.tenants.get(SITE)
        uninstalling = await second.tenants.get(SITE)
        assert disabling is not None
        assert uninstalling is not None
        uninstalling.uninstall(at(10))
        await second.tenants.save(uninstalling)
        await second.commit()
        disabling.disable(at(11))
        with pytest.raises(ConcurrentChange):
            await save_and_commit(first, disabling)
    async with uow() as check:
        stored = await check.tenants.get(SITE)
    assert stored is not None
    assert stored.state is TenantState.UNINSTALLED


async def test_a_tenant_installed_twice_at_once_is_a_conflict(uow: UnitOfWorkFactory) -> None:
    async with uow() as first, uow() as second:
        assert await first.tenants.get(SITE) is None
        assert await second.tenants.get(SITE) is None
        await second.tenants.save(tenant())
        await second.commit()
        with pytest.raises(ConcurrentChange):
            await save_and_commit(first, tenant())


async def test_purge_and_install_afresh_in_one_unit_of_work(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant())
    async with uow() as work:
        assert await work.tenants.get(SITE) is not None
        await work.tenants.delete(SITE)
        await work.tenants.save(tenant(secret="a-new-secret-for-the-site"))
        await work.commit()
    async with uow() as check:
        stored = await check.tenants.get(SITE)
    assert stored is not None
    assert stored.shared_secret == "a-new-secret-for-the-site"
