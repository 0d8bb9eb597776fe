"""The personal-data reporting cycle on the in-memory adapters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from agiletoolbox.adapters.memory import MemoryPersonalData
from agiletoolbox.adapters.memory.store import MemoryRoomRepository
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.errors import JiraUnavailable
from agiletoolbox.domain.ids import AccountId, IssueKey, TenantKey
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports import AccountReport
from agiletoolbox.services import personal_data
from agiletoolbox.services.personal_data import PersonalDataService, ReportingSummary
from tests.unit.roomkit import ANA, BEN, TENANT
from tests.unit.test_privacy_service import World


class FlakyPersonalData(MemoryPersonalData):
    """Atlassian's API, asking to come back later from the `fail_from`-th call on."""

    fail_from: int | None = None

    async def report(
        self, tenant: Tenant, accounts: Sequence[tuple[AccountId, datetime]]
    ) -> AccountReport:
        if self.fail_from is not None and len(self.batches) >= self.fail_from:
            raise JiraUnavailable("come back later")
        return await super().report(tenant, accounts)


def service(world: World, api: MemoryPersonalData) -> PersonalDataService:
    return PersonalDataService(
        world.store.unit_of_work, api, world.privacy, world.clock, RetentionPolicy()
    )


async def crowded_room(world: World, people: int) -> None:
    view = await world.rooms.open(TENANT, ANA, IssueKey("DEMO-1"), RoomConfig())
    for n in range(people - 1):
        await world.rooms.join(TENANT, AccountId(f"557058:p{n:03d}"), view.id, Role.VOTER)


async def test_closed_accounts_are_erased_and_the_cycle_waits_for_its_period() -> None:
    world = World()
    view = await world.rooms.open(TENANT, ANA, IssueKey("DEMO-1"), RoomConfig())
    await world.rooms.join(TENANT, BEN, view.id, Role.VOTER)
    await world.rooms.vote(TENANT, BEN, view.id, "5")
    api = MemoryPersonalData(closed={BEN}, cycle_period_days=3)
    reporting = service(world, api)
    assert await reporting.report_due() == ReportingSummary(tenants=1, accounts=2, erased=1)
    room = next(iter(world.store.rooms.values()))
    assert BEN not in room.participants
    assert BEN not in room.votes
    assert await reporting.report_due() == ReportingSummary(), "not due again yet"
    world.clock.advance(timedelta(days=3))
    assert (await reporting.report_due()).accounts == 1, "Cycle-Period (3 days) is followed"


async def test_accounts_go_in_batches_of_at_most_90() -> None:
    world = World()
    await crowded_room(world, 200)
    api = MemoryPersonalData()
    assert (await service(world, api).report_due()).accounts == 200
    assert [len(batch) for batch in api.batches] == [90, 90, 20]
    assert len({a for batch in api.batches for a in batch}) == 200


async def test_a_sites_accounts_are_read_a_page_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # All at once, a site's thousands of accounts were made and sorted in one go, and the
    # process serving rooms stopped for it (100 ms for 2,200 accounts).
    world = World()
    await crowded_room(world, 25)
    monkeypatch.setattr(personal_data, "BATCH_SIZE", 4)
    monkeypatch.setattr(personal_data, "PAGE_SIZE", 10)
    reads: list[tuple[AccountId | None, int | None, int]] = []
    read = MemoryRoomRepository.accounts

    async def counted(
        self: MemoryRoomRepository,
        tenant: TenantKey,
        *,
        after: AccountId | None = None,
        limit: int | None = None,
    ) -> Sequence[tuple[AccountId, datetime]]:
        page = await read(self, tenant, after=after, limit=limit)
        reads.append((after, limit, len(page)))
        return page

    monkeypatch.setattr(MemoryRoomRepository, "accounts", counted)
    api = MemoryPersonalData()
    assert (await service(world, api).report_due()).accounts == 25
    assert [size for _, _, size in reads] == [10, 10, 5]
    assert {limit for _, limit, _ in reads} == {10}
    assert [len(batch) for batch in api.batches] == [4, 4, 2, 4, 4, 2, 4, 1]
    reported = [account for batch in api.batches for account in batch]
    assert reported == sorted(reported)
    assert len(set(reported)) == 25
    # Each page starts after the last account reported.
    assert [after for after, _, _ in reads] == [None, reported[9], reported[19]]
    assert not world.store.report_cycles[TENANT].running


async def test_a_cycle_cut_short_resumes_after_the_last_batch() -> None:
    world = World()
    await crowded_room(world, 200)
    api = FlakyPersonalData()
    api.fail_from = 1
    reporting = service(world, api)
    first = await reporting.report_due()
    assert (first.accounts, first.deferred) == (90, 1)
    cycle = world.store.report_cycles[TENANT]
    assert cycle.running
    api.fail_from = None
    second = await reporting.report_due()
    assert second.accounts == 110, "the restart neither skips nor repeats a batch"
    reported = [a for batch in api.batches for a in batch]
    assert len(reported) == len(set(reported)) == 200
    assert not world.store.report_cycles[TENANT].running


async def test_sites_that_may_not_be_served_are_not_reported() -> None:
    world = World()
    await crowded_room(world, 3)
    world.store.tenants[TENANT].disable(world.clock.now())
    api = MemoryPersonalData()
    assert await service(world, api).report_due() == ReportingSummary()
    assert api.batches == []


async def test_serve_reports_hourly_one_process_at_a_time() -> None:
    import asyncio

    from agiletoolbox.adapters.memory.jobs import MemoryJobLock
    from agiletoolbox.server import report_hourly

    world = World()
    await crowded_room(world, 3)
    api = MemoryPersonalData()
    lock = MemoryJobLock()
    async with lock.exclusive("report-accounts"):
        held = asyncio.create_task(report_hourly(service(world, api), lock, first_after=0, every=9))
        await asyncio.sleep(0.05)
        held.cancel()
    assert api.batches == [], "another process holds the reporting"
    job = asyncio.create_task(report_hourly(service(world, api), lock, first_after=0, every=9))
    for _ in range(100):
        if api.batches:
            break
        await asyncio.sleep(0.01)
    job.cancel()
    assert len(api.batches) == 1


async def test_one_sites_failure_spares_the_others() -> None:
    from agiletoolbox.domain.tenant import ProductType, Region
    from tests.unit.roomkit import T0

    world = World()
    other = TENANT.__class__("tenant-two")
    world.store.tenants[other] = Tenant.install(
        key=other,
        base_url="https://two.atlassian.net",
        shared_secret="y" * 32,
        product_type=ProductType.JIRA,
        region=Region.US,
        now=T0,
    )
    await crowded_room(world, 2)
    await world.rooms.open(other, BEN, IssueKey("DEMO-9"), RoomConfig())

    class Broken(MemoryPersonalData):
        async def report(
            self, tenant: Tenant, accounts: Sequence[tuple[AccountId, datetime]]
        ) -> AccountReport:
            if tenant.key == TENANT:
                raise RuntimeError("a bug")
            return await super().report(tenant, accounts)

    from agiletoolbox.services.errors import ErrorReportService

    errors = ErrorReportService(world.store.unit_of_work, world.clock)
    summary = await PersonalDataService(
        world.store.unit_of_work, Broken(), world.privacy, world.clock, RetentionPolicy(), errors
    ).report_due()
    assert summary.tenants == 1
    assert summary.accounts == 1
    [report] = world.store.error_reports
    assert summary.failed == (f"tenant-one: error report {report.id}",)
    assert report.tenant == TENANT
    assert report.code == "job_failed"
    assert report.message == "personal-data reporting failed: builtins.RuntimeError"
    assert "a bug" not in report.message, "never what the error says"


async def test_a_retry_after_longer_than_a_pass_is_honoured_by_the_next_passes() -> None:
    world = World()
    await crowded_room(world, 3)

    class Busy(MemoryPersonalData):
        wait: float | None = 7200.0

        async def report(
            self, tenant: Tenant, accounts: Sequence[tuple[AccountId, datetime]]
        ) -> AccountReport:
            self.calls = getattr(self, "calls", 0) + 1
            if self.wait is not None:
                busy = JiraUnavailable("come back later")
                busy.retry_after = self.wait
                raise busy
            return await super().report(tenant, accounts)

    api = Busy()
    first = await service(world, api).report_due()
    assert (first.deferred, first.accounts) == (1, 0)
    api.wait = None
    world.clock.advance(timedelta(hours=1))
    second = await service(world, api).report_due()
    assert (second.deferred, second.accounts, api.calls) == (1, 0, 1), "asked too early"
    world.clock.advance(timedelta(hours=1, seconds=1))
    third = await service(world, api).report_due()
    assert (third.deferred, third.accounts) == (0, 3)
    cycle = world.store.report_cycles[TENANT]
    assert cycle.not_before is None
    assert cycle.last_completed_at == world.clock.now()
