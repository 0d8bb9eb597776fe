"""The room repository's promises, kept alike by the memory and the PostgreSQL adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.deck import T_SHIRT
from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
from agiletoolbox.domain.errors import AccessRefused, ConcurrentChange, InvalidState, NotFound
from agiletoolbox.domain.estimate import FieldSpec, FieldType
from agiletoolbox.domain.events import ParticipantJoined, VoteCast
from agiletoolbox.domain.ids import AccountId, FieldId, IssueTypeId, ProjectKey, RoomId
from agiletoolbox.domain.tenant import Region
from agiletoolbox.ports import UnitOfWorkFactory
from tests.contract.kit import (
    ANA,
    BEN,
    CAI,
    DEMO_1,
    DEMO_2,
    OTHER_SITE,
    SITE,
    add,
    at,
    install,
    load,
    room,
    tenant,
    update,
)

POINTS = FieldId("customfield_10016")


async def test_an_added_room_reads_back_equal(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened = room()
    await add(uow, opened)
    async with uow() as work:
        assert await work.rooms.get(SITE, opened.id) == opened
        assert await work.rooms.find_by_issue(SITE, DEMO_1) == opened
        assert await work.rooms.find_by_issue(SITE, DEMO_2) is None


async def test_an_unknown_room_is_not_found(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    async with uow() as work:
        with pytest.raises(NotFound):
            await work.rooms.get(SITE, RoomId.generate())


async def test_nothing_persists_without_commit(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    async with uow() as work:
        await work.rooms.add(room())
    assert await load(uow, SITE, DEMO_1) is None
    async with uow() as work:
        await work.rooms.add(room())
        await work.rollback()
        await work.commit()
    assert await load(uow, SITE, DEMO_1) is None


async def test_an_error_rolls_back(uow: UnitOfWorkFactory) -> None:
    await install(uow)

    async def fail_midway() -> None:
        async with uow() as work:
            await work.rooms.add(room())
            await work.tenants.save(tenant(OTHER_SITE))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_midway()
    assert await load(uow, SITE, DEMO_1) is None
    async with uow() as work:
        assert await work.tenants.get(OTHER_SITE) is None


async def test_every_kind_of_change_is_saved(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    config = RoomConfig(field_id=POINTS, auto_reveal=False)
    opened = room(config=config)
    await add(uow, opened)
    steps = [
        lambda r: r.join(CAI, Role.OBSERVER, at(2)),
        lambda r: r.vote(ANA, "3", at(3)),
        lambda r: r.vote(BEN, "5", at(4)),
        lambda r: r.reveal(ANA, at(5)),
        lambda r: r.accept_estimate(ANA, "5", FieldSpec(POINTS, FieldType.NUMBER), at(6)),
        lambda r: r.reset(ANA, at(7)),
        lambda r: r.configure(ANA, RoomConfig(deck=T_SHIRT, value_map={"S": 1.0}), at(8)),
        lambda r: r.vote(BEN, "S", at(9)),
        lambda r: r.start_timer(ANA, 60, at(9)),
        lambda r: r.extend_timer(ANA, 30, at(9)),
        lambda r: r.configure(ANA, evolve(r.config, reveal_on_timer=True), at(9)),
        lambda r: r.time_up(r.round, at(100)),
        lambda r: r.reset(ANA, at(100)),
        lambda r: r.start_timer(ANA, 10, at(100)),
        lambda r: r.set_presence(ANA, False, at(10)),
        lambda r: r.take_control(BEN, at(11)),
        lambda r: r.leave(CAI, at(12)),
        lambda r: r.erase_account(ANA, at(13)),
    ]
    for step in steps:
        async with uow() as work:
            current = await work.rooms.get(SITE, opened.id)
            step(current)
            await work.rooms.save(current)
            await work.commit()
        assert await load(uow, SITE, DEMO_1) == current
    assert current.history
    assert current.history[0].votes == ((BEN, "5"),)
    assert current.history[1].revealed  # the timer ran out and turned the cards over
    assert current.timer is not None


async def test_a_lost_race_fails_the_later_commit(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened = room()
    await add(uow, opened)
    async with uow() as first, uow() as second:
        mine = await first.rooms.get(SITE, opened.id)
        theirs = await second.rooms.get(SITE, opened.id)
        mine.vote(ANA, "3", at(2))
        theirs.vote(BEN, "8", at(2))
        await first.rooms.save(mine)
        await first.commit()
        await second.rooms.save(theirs)
        with pytest.raises(ConcurrentChange):
            await second.commit()
    assert await load(uow, SITE, DEMO_1) == mine


async def test_one_room_per_issue(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    await add(uow, room())
    async with uow() as work:
        with pytest.raises(InvalidState):
            await work.rooms.add(room())


async def test_two_rooms_opened_at_once_for_one_issue_conflict(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    first_room, second_room = room(), room()
    async with uow() as first, uow() as second:
        await first.rooms.add(first_room)
        await second.rooms.add(second_room)
        await first.commit()
        with pytest.raises(ConcurrentChange):
            await second.commit()
    assert await load(uow, SITE, DEMO_1) == first_room


async def test_the_same_issue_in_two_tenants_is_two_rooms(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant(SITE), tenant(OTHER_SITE))
    await add(uow, room(site=SITE), room(site=OTHER_SITE))
    mine, theirs = await load(uow, SITE, DEMO_1), await load(uow, OTHER_SITE, DEMO_1)
    assert mine is not None
    assert theirs is not None
    assert mine.id != theirs.id


async def test_a_room_is_saved_only_after_reading_it(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened = room()
    await add(uow, opened)
    async with uow() as work:
        with pytest.raises(NotFound):
            await work.rooms.save(opened)


async def test_delete_removes_the_room(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened, kept = room(), room(DEMO_2)
    await add(uow, opened, kept)
    async with uow() as work:
        await work.rooms.delete(SITE, opened.id)
        await work.commit()
    async with uow() as work:
        with pytest.raises(NotFound):
            await work.rooms.get(SITE, opened.id)
        assert await work.rooms.get(SITE, kept.id) == kept


async def test_deleting_a_room_changed_meanwhile_conflicts(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened = room()
    await add(uow, opened)
    async with uow() as remover, uow() as voter:
        await remover.rooms.get(SITE, opened.id)
        changed = await voter.rooms.get(SITE, opened.id)
        changed.vote(BEN, "2", at(2))
        await voter.rooms.save(changed)
        await voter.commit()
        await remover.rooms.delete(SITE, opened.id)
        with pytest.raises(ConcurrentChange):
            await remover.commit()
    assert await load(uow, SITE, DEMO_1) == changed


async def test_collect_events_drains_the_saved_rooms(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened = room()
    await add(uow, opened)
    async with uow() as work:
        current = await work.rooms.get(SITE, opened.id)
        current.join(CAI, Role.VOTER, at(2))
        current.vote(CAI, "1", at(3))
        await work.rooms.save(current)
        await work.commit()
        events = work.rooms.collect_events()
        assert [type(e) for e in events] == [ParticipantJoined, VoteCast]
        assert [e.version for e in events] == [3, 4]
        assert work.rooms.collect_events() == []


async def test_rooms_that_mention_an_account(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant(SITE), tenant(OTHER_SITE))
    here, there, without = room(), room(site=OTHER_SITE), room(DEMO_2)
    there.join(CAI, Role.OBSERVER, at(2))
    without_ben = without
    without_ben.leave(BEN, at(2))
    await add(uow, here, there, without)
    async with uow() as work:
        assert await work.rooms.with_account(CAI) == [(OTHER_SITE, there.id)]
        found = await work.rooms.with_account(BEN)
        assert found == sorted([(SITE, here.id), (OTHER_SITE, there.id)])
        assert await work.rooms.with_account(AccountId("nobody")) == []


async def test_idle_rooms(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    idle, busy, kept = room(), room(DEMO_2), room(DEMO_1.__class__("DEMO-3"))
    busy.vote(ANA, "1", at(100))
    kept.configure(ANA, RoomConfig(persistent=True), at(3))
    await add(uow, idle, busy, kept)
    async with uow() as work:
        assert await work.rooms.idle_before(at(50)) == [(SITE, idle.id)]
        assert sorted(await work.rooms.idle_before(at(500))) == sorted(
            [(SITE, idle.id), (SITE, busy.id)]
        )


@pytest.mark.parametrize("used_meanwhile", [True, False])
async def test_an_idle_room_is_deleted_only_as_it_was_listed(
    uow: UnitOfWorkFactory, used_meanwhile: bool
) -> None:
    await install(uow)
    idle = room()
    await add(uow, idle)
    async with uow() as purge:
        assert await purge.rooms.idle_before(at(50)) == [(SITE, idle.id)]
        if used_meanwhile:
            async with uow() as voter:  # a vote lands after the listing
                revived = await voter.rooms.get(SITE, idle.id)
                revived.vote(ANA, "5", at(60))
                await voter.rooms.save(revived)
                await voter.commit()
        await purge.rooms.delete(SITE, idle.id)
        if used_meanwhile:
            with pytest.raises(ConcurrentChange):
                await purge.commit()
        else:
            await purge.commit()
    kept = await load(uow, SITE, DEMO_1)
    assert (kept.votes if kept else None) == ({ANA: "5"} if used_meanwhile else None)


async def test_accounts_of_a_tenant(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant(SITE), tenant(OTHER_SITE))
    first, second, elsewhere = room(), room(DEMO_2), room(site=OTHER_SITE)
    second.join(CAI, Role.VOTER, at(5))
    second.leave(BEN, at(6))
    second.join(BEN, Role.VOTER, at(7))
    elsewhere.join(AccountId("someone-else"), Role.VOTER, at(2))
    await add(uow, first, second, elsewhere)
    async with uow() as work:
        assert await work.rooms.accounts(SITE) == [
            (ANA, at(7)),  # the owner of the room last changed at 7
            (BEN, at(7)),
            (CAI, at(5)),
        ]


async def test_accounts_come_in_pages_in_code_point_order(uow: UnitOfWorkFactory) -> None:
    # Code point order, whatever the database's collation: it is how `AccountId` sorts,
    # and a page starts after the last account of the one before.
    await install(uow)
    crowded = room()
    names = ("557058:abe", "557058:Zed", "557058:_x", "557058:ABE", "5570:9", "557058:zz-1")
    for n, name in enumerate(names):
        crowded.join(AccountId(name), Role.VOTER, at(n + 1))
    await add(uow, crowded)
    every = sorted({ANA, BEN, *map(AccountId, names)})
    async with uow() as work:
        assert [account for account, _ in await work.rooms.accounts(SITE)] == every
        pages, after = [], None
        while page := await work.rooms.accounts(SITE, after=after, limit=3):
            pages.append([account for account, _ in page])
            after = page[-1][0]
    assert [len(page) for page in pages] == [3, 3, 2]
    assert [account for page in pages for account in page] == every


async def test_accounts_kept_anywhere_are_accounts_of_the_tenant(uow: UnitOfWorkFactory) -> None:
    from agiletoolbox.domain.defaults import DefaultsKey, SavedDefaults
    from agiletoolbox.domain.ids import IssueTypeId, ProjectKey

    await install(uow, tenant(SITE))
    played = room()
    played.join(BEN, Role.VOTER, at(1))
    played.vote(BEN, "1", at(2))
    played.reveal(ANA, at(3))
    played.reset(ANA, at(4))
    played.leave(BEN, at(5))
    await add(uow, played)
    dee = AccountId("557058:dee")
    async with uow() as work:
        await work.defaults.save(
            SavedDefaults(
                DefaultsKey(SITE, dee, ProjectKey("DEMO"), IssueTypeId("1")), RoomConfig(), at(6)
            )
        )
        await work.commit()
    async with uow() as work:
        accounts = dict(await work.rooms.accounts(SITE))
    assert accounts[BEN] == at(4), "a voter who left is still in the history of round 1"
    assert accounts[dee] == at(6), "saved defaults hold an account id too"
    assert set(accounts) == {ANA, BEN, dee}


async def test_times_keep_their_precision(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened = room()
    opened.vote(ANA, "1", at(1) + timedelta(microseconds=123_457))
    await add(uow, opened)
    assert await load(uow, SITE, DEMO_1) == opened


async def test_a_failed_commit_keeps_none_of_the_unit_of_work(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    key = DefaultsKey(SITE, BEN, ProjectKey("DEMO"), IssueTypeId("10001"))
    async with uow() as first, uow() as second:
        await first.rooms.add(room())
        await second.defaults.save(SavedDefaults(key, RoomConfig(), at(1)))
        await second.rooms.add(room())
        await first.commit()
        with pytest.raises(ConcurrentChange):
            await second.commit()
    async with uow() as work:
        assert await work.defaults.get(key) is None


async def test_a_site_that_is_moving_takes_no_room_writes_staged_before_the_move(
    uow: UnitOfWorkFactory,
) -> None:
    await install(uow)
    kept = room()
    await add(uow, kept)
    async with uow() as work:
        # Read and changed before the move began, committed after: refused.
        changed = await work.rooms.get(SITE, kept.id)
        changed.join(CAI, Role.VOTER, at(5))
        await work.rooms.save(changed)
        moving = tenant()
        moving.begin_move(Region.EU, at(6))
        await update(uow, moving)
        with pytest.raises(ConcurrentChange):
            await work.commit()
    async with uow() as work:
        await work.rooms.add(room(DEMO_2))
        with pytest.raises(AccessRefused):
            await work.commit()
    async with uow() as work:
        await work.rooms.get(SITE, kept.id)
        await work.rooms.delete(SITE, kept.id)
        with pytest.raises(ConcurrentChange):
            await work.commit()
    assert await load(uow, SITE, DEMO_1) == kept
    assert await load(uow, SITE, DEMO_2) is None
    # The move rolled back: the site takes writes again.
    moving.cancel_move(at(7))
    await update(uow, moving)
    async with uow() as work:
        changed = await work.rooms.get(SITE, kept.id)
        changed.join(CAI, Role.VOTER, at(8))
        await work.rooms.save(changed)
        await work.commit()
    stored = await load(uow, SITE, DEMO_1)
    assert stored is not None
    assert CAI in stored.participants


# -- rooms adopted as last seen committed ----------------------------------------------------


async def test_an_adopted_room_saves_what_changed_since(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened = room()
    opened.join(BEN, Role.VOTER, at(1))
    await add(uow, opened)
    seen = await load(uow, SITE, DEMO_1)
    assert seen is not None
    changed = seen.copy()
    async with uow() as work:
        await work.rooms.adopt(changed)
        changed.vote(BEN, "5", at(2))
        changed.join(CAI, Role.OBSERVER, at(3))
        await work.rooms.save(changed)
        await work.commit()
    assert await load(uow, SITE, DEMO_1) == changed


async def test_an_adopted_room_that_changed_meanwhile_is_refused(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    opened = room()
    opened.join(BEN, Role.VOTER, at(1))
    await add(uow, opened)
    seen = await load(uow, SITE, DEMO_1)
    assert seen is not None
    async with uow() as work:  # someone else votes first
        current = await work.rooms.get(SITE, opened.id)
        current.vote(ANA, "3", at(2))
        await work.rooms.save(current)
        await work.commit()
    stale = seen.copy()
    async with uow() as work:
        await work.rooms.adopt(stale)
        stale.vote(BEN, "8", at(3))
        await work.rooms.save(stale)
        with pytest.raises(ConcurrentChange):
            await work.commit()
    assert (await load(uow, SITE, DEMO_1)) == current


@pytest.mark.parametrize("standing", ["disabled", "uninstalled", "moving"])
async def test_an_adopted_room_of_a_site_that_may_not_be_served_is_refused(
    uow: UnitOfWorkFactory, standing: str
) -> None:
    site = tenant()
    await install(uow, site)
    await add(uow, room())
    seen = await load(uow, SITE, DEMO_1)
    assert seen is not None
    async with uow() as work:
        current = await work.tenants.get(SITE)
        assert current is not None
        if standing == "disabled":
            current.disable(at(5))
        elif standing == "uninstalled":
            current.uninstall(at(5))
        else:
            current.begin_move(Region.EU, at(5))
        await work.tenants.save(current)
        await work.commit()
    adopted = seen.copy()
    async with uow() as work:
        await work.rooms.adopt(adopted)
        adopted.vote(ANA, "8", at(6))
        await work.rooms.save(adopted)
        with pytest.raises(ConcurrentChange):
            await work.commit()
    assert (await load(uow, SITE, DEMO_1)) == seen


async def test_several_rooms_are_read_at_once_each_with_its_standing(
    uow: UnitOfWorkFactory,
) -> None:
    await install(uow, tenant(), tenant(OTHER_SITE))
    first, second, theirs = room(), room(issue=DEMO_2), room(site=OTHER_SITE)
    await add(uow, first, second, theirs)
    missing = (SITE, RoomId.generate())
    wrong_site = (SITE, theirs.id)
    async with uow() as work:
        found = await work.rooms.get_served_many(
            [(SITE, first.id), (SITE, second.id), missing, wrong_site, (OTHER_SITE, theirs.id)]
        )
    assert set(found) == {(SITE, first.id), (SITE, second.id), (OTHER_SITE, theirs.id)}
    assert found[SITE, first.id][0] == first
    assert found[SITE, second.id][0] == second
    assert all(standing.accessible for _, standing in found.values())
