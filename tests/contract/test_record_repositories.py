"""Tenants, saved defaults and error reports: the same promises on memory and PostgreSQL."""

from __future__ import annotations

from attrs import evolve

from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.deck import POWERS_OF_TWO
from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.ids import FieldId, IssueKey, IssueTypeId, ProjectKey
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.tenant import Region, TenantStanding, TenantState
from agiletoolbox.ports import UnitOfWorkFactory
from tests.contract.kit import (
    ANA,
    BEN,
    DEMO_1,
    OTHER_SITE,
    SITE,
    add,
    at,
    install,
    load,
    room,
    update,
)
from tests.contract.kit import tenant as make_tenant

FORGE = "ari:cloud:ecosystem::installation/0f8e2b5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


async def test_a_tenant_reads_back_equal(uow: UnitOfWorkFactory) -> None:
    site = make_tenant()
    await install(uow, site)
    async with uow() as work:
        assert await work.tenants.get(SITE) == site
        assert await work.tenants.get(OTHER_SITE) is None


async def test_a_tenant_is_updated_in_place(uow: UnitOfWorkFactory) -> None:
    site = make_tenant()
    await install(uow, site)
    site.link_forge(FORGE, at(5))
    site.uninstall(at(10))
    await update(uow, site)
    async with uow() as work:
        stored = await work.tenants.get(SITE)
        assert stored == site
        assert stored is not None
        assert stored.state is TenantState.UNINSTALLED
        assert stored.version == 3
        assert await work.tenants.find_by_installation(FORGE) == site
        assert await work.tenants.find_by_installation(FORGE.replace("0f8e", "1f8e")) is None


async def test_a_rotated_secret_is_stored(uow: UnitOfWorkFactory) -> None:
    site = make_tenant()
    await install(uow, site)
    site.reinstall(
        base_url=site.base_url,
        shared_secret="a-brand-new-secret",
        authenticated=True,
        retention=RetentionPolicy(),
        now=at(3),
    )
    await update(uow, site)
    async with uow() as work:
        stored = await work.tenants.get(SITE)
        assert stored is not None
        assert stored.shared_secret == "a-brand-new-secret"


async def test_uninstalled_and_all_tenants(uow: UnitOfWorkFactory) -> None:
    gone, staying = make_tenant(SITE), make_tenant(OTHER_SITE)
    gone.uninstall(at(10))
    await install(uow, gone, staying)
    async with uow() as work:
        assert await work.tenants.uninstalled_before(at(11)) == [SITE]
        assert await work.tenants.uninstalled_before(at(10)) == []
        assert await work.tenants.all_keys() == sorted([SITE, OTHER_SITE])


async def test_deleting_a_tenant_takes_everything_it_owns(uow: UnitOfWorkFactory) -> None:
    await install(uow, make_tenant(SITE), make_tenant(OTHER_SITE))
    await add(uow, room(site=SITE), room(site=OTHER_SITE))
    mine = DefaultsKey(SITE, ANA, ProjectKey("DEMO"), IssueTypeId("10001"))
    theirs = evolve(mine, tenant=OTHER_SITE)
    async with uow() as work:
        for key in (mine, theirs):
            await work.defaults.save(SavedDefaults(key, RoomConfig(), at(1)))
        await work.error_reports.add(_report("r1", 1, SITE), counted_since=at(0))
        await work.error_reports.add(_report("r2", 2, OTHER_SITE), counted_since=at(0))
        await work.error_reports.add(_report("r3", 3, None), counted_since=at(0))
        await work.commit()
    async with uow() as work:
        await work.tenants.delete(SITE)
        await work.commit()
    assert await load(uow, SITE, DEMO_1) is None
    assert await load(uow, OTHER_SITE, DEMO_1) is not None
    async with uow() as work:
        assert await work.tenants.get(SITE) is None
        assert await work.defaults.get(mine) is None
        assert await work.defaults.get(theirs) is not None
        assert [r.id for r in await work.error_reports.recent(10)] == ["r3", "r2"]


async def test_defaults_are_saved_replaced_and_erased(uow: UnitOfWorkFactory) -> None:
    await install(uow, make_tenant(SITE), make_tenant(OTHER_SITE))
    key = DefaultsKey(SITE, ANA, ProjectKey("DEMO"), IssueTypeId("10001"))
    other_type = evolve(key, issue_type=IssueTypeId("10002"))
    other_site = evolve(key, tenant=OTHER_SITE)
    bens = evolve(key, account_id=BEN)
    first = SavedDefaults(key, RoomConfig(), at(1))
    custom = RoomConfig(
        deck=POWERS_OF_TWO, field_id=FieldId("customfield_10016"), question_card=False
    )
    replaced = SavedDefaults(key, custom, at(2))
    async with uow() as work:
        await work.defaults.save(first)
        await work.commit()
    async with uow() as work:
        assert await work.defaults.get(key) == first
        await work.defaults.save(replaced)
        for other in (other_type, other_site, bens):
            await work.defaults.save(SavedDefaults(other, RoomConfig(), at(3)))
        await work.commit()
    async with uow() as work:
        assert await work.defaults.get(key) == replaced
        assert await work.defaults.erase_account(ANA) == 3
        await work.commit()
    async with uow() as work:
        assert await work.defaults.get(key) is None
        assert await work.defaults.get(other_site) is None
        assert await work.defaults.get(bens) is not None
        assert await work.defaults.erase_account(ANA) == 0


def _report(report_id: str, seconds: int, tenant: object, line: int | None = None) -> ErrorReport:
    return ErrorReport.capture(
        where=f'File "rooms.py", line {seconds if line is None else line}, in vote',
        message="something failed",
        code="internal",
        now=at(seconds),
        tenant=tenant,  # type: ignore[arg-type]
        report_id=report_id,
    )


async def test_error_reports_newest_first_and_purged_by_age(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    reports = [_report(f"r{n}", n, SITE if n % 2 else None) for n in range(1, 6)]
    async with uow() as work:
        for report in reports:
            await work.error_reports.add(report, counted_since=at(0))
        await work.commit()
    async with uow() as work:
        assert await work.error_reports.recent(3) == reports[::-1][:3]
        assert await work.error_reports.delete_before(at(3)) == 2
        await work.commit()
    async with uow() as work:
        assert await work.error_reports.recent(10) == reports[::-1][:3]


async def test_equal_error_reports_are_counted_within_the_window(
    uow: UnitOfWorkFactory,
) -> None:
    await install(uow)
    async with uow() as work:
        first = await work.error_reports.add(_report("a", 10, SITE, 7), counted_since=at(0))
        await work.commit()
    assert first.count == 1
    async with uow() as work:
        again = await work.error_reports.add(_report("b", 20, SITE, 7), counted_since=at(5))
        elsewhere = await work.error_reports.add(_report("c", 21, None, 7), counted_since=at(5))
        await work.commit()
    assert (again.id, again.count, again.last_at) == ("a", 2, at(20))
    assert (elsewhere.id, elsewhere.count) == ("c", 1)  # another site: another report
    async with uow() as work:
        # Past the window (the first is older than `counted_since`): a report of its own.
        later = await work.error_reports.add(_report("d", 40, SITE, 7), counted_since=at(30))
        await work.commit()
    assert (later.id, later.count) == ("d", 1)
    async with uow() as work:
        stored = {r.id: (r.count, r.last_at) for r in await work.error_reports.recent(10)}
    assert stored == {"a": (2, at(20)), "c": (1, None), "d": (1, None)}


async def test_error_reports_of_unknown_tenants_are_kept(uow: UnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.error_reports.add(_report("lonely", 1, OTHER_SITE), counted_since=at(0))
        await work.commit()
    async with uow() as work:
        assert [r.tenant for r in await work.error_reports.recent(1)] == [OTHER_SITE]


async def test_defaults_are_found_by_account(uow: UnitOfWorkFactory) -> None:
    from agiletoolbox.domain.config import RoomConfig
    from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
    from agiletoolbox.domain.ids import IssueTypeId, ProjectKey

    await install(uow, make_tenant())
    saved = [
        SavedDefaults(
            DefaultsKey(SITE, who, ProjectKey(project), IssueTypeId("10001")), RoomConfig(), at(1)
        )
        for who, project in ((ANA, "DEMO"), (ANA, "OPS"), (BEN, "DEMO"))
    ]
    async with uow() as work:
        for each in saved:
            await work.defaults.save(each)
        await work.commit()
    async with uow() as work:
        assert list(await work.defaults.for_account(ANA)) == saved[:2]
        assert list(await work.defaults.for_account(BEN)) == saved[2:]


async def test_a_tenants_standing_reads_without_the_rest(uow: UnitOfWorkFactory) -> None:
    async with uow() as work:
        assert await work.tenants.standing(SITE) is None
    site = make_tenant()
    await install(uow, site)
    async with uow() as work:
        assert await work.tenants.standing(SITE) == TenantStanding(TenantState.INSTALLED)
    site.begin_move(Region.EU, at(1))
    await update(uow, site)
    async with uow() as work:
        standing = await work.tenants.standing(SITE)
    assert standing == TenantStanding(TenantState.INSTALLED, Region.EU)
    assert not standing.accessible
    site.cancel_move(at(2))
    site.uninstall(at(3))
    await update(uow, site)
    async with uow() as work:
        standing = await work.tenants.standing(SITE)
    assert standing == site.standing
    assert standing.state is TenantState.UNINSTALLED


async def test_rooms_and_defaults_are_counted_per_site(uow: UnitOfWorkFactory) -> None:
    await install(uow, make_tenant(SITE), make_tenant(OTHER_SITE))
    await add(
        uow,
        room(site=SITE),
        room(IssueKey("DEMO-2"), site=SITE),
        room(site=OTHER_SITE),
    )
    key = DefaultsKey(SITE, ANA, ProjectKey("DEMO"), IssueTypeId("10001"))
    async with uow() as work:
        await work.defaults.save(SavedDefaults(key, RoomConfig(), at(1)))
        await work.defaults.save(SavedDefaults(evolve(key, account_id=BEN), RoomConfig(), at(1)))
        await work.commit()
    async with uow() as work:
        assert await work.rooms.count(SITE) == 2
        assert await work.rooms.count(OTHER_SITE) == 1
        assert await work.defaults.count(SITE) == 2
        assert await work.defaults.count(OTHER_SITE) == 0
