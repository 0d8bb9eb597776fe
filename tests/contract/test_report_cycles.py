"""Reporting states persist per tenant and go with the tenant, on memory and PostgreSQL."""

from __future__ import annotations

from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.reporting import ReportCycle
from agiletoolbox.ports import UnitOfWorkFactory
from tests.contract.kit import OTHER_SITE, SITE, at, install
from tests.contract.kit import tenant as make_tenant


async def test_a_cycle_is_saved_advanced_and_completed(uow: UnitOfWorkFactory) -> None:
    await install(uow, make_tenant(), make_tenant(OTHER_SITE))
    running = ReportCycle(SITE).advanced(AccountId("557058:ana"), 5)
    async with uow() as work:
        assert await work.report_cycles.get(SITE) is None
        await work.report_cycles.save(running)
        await work.commit()
    async with uow() as work:
        assert await work.report_cycles.get(SITE) == running
        assert await work.report_cycles.get(OTHER_SITE) is None
        await work.report_cycles.save(running.completed(at(9)))
        await work.commit()
    async with uow() as work:
        done = await work.report_cycles.get(SITE)
    assert done is not None
    assert not done.running
    assert done.last_completed_at == at(9)
    assert done.cycle_period_days == 5


async def test_the_state_goes_with_the_tenant(uow: UnitOfWorkFactory) -> None:
    await install(uow, make_tenant())
    async with uow() as work:
        await work.report_cycles.save(ReportCycle(SITE).completed(at(1)))
        await work.commit()
    async with uow() as work:
        await work.tenants.delete(SITE)
        await work.commit()
    async with uow() as work:
        assert await work.report_cycles.get(SITE) is None


async def test_a_deferral_is_kept_until_the_next_batch(uow: UnitOfWorkFactory) -> None:
    await install(uow, make_tenant())
    deferred = ReportCycle(SITE).advanced(AccountId("557058:ana"), None).deferred(at(3600))
    async with uow() as work:
        await work.report_cycles.save(deferred)
        await work.commit()
    async with uow() as work:
        stored = await work.report_cycles.get(SITE)
    assert stored == deferred
    assert stored.waiting(at(3599))
    assert not stored.waiting(at(3600))
    assert stored.advanced(AccountId("557058:ben"), None).not_before is None
