"""Room use cases on the in-memory adapters."""

from __future__ import annotations

import asyncio

import pytest

from agiletoolbox.adapters.memory import ManualClock, MemoryEventBus, MemoryJira, MemoryStore
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.deck import T_SHIRT
from agiletoolbox.domain.errors import (
    AccessRefused,
    ConcurrentChange,
    FieldNotOnScreen,
    InvalidState,
    JiraUnavailable,
    NotFound,
    NotPermitted,
)
from agiletoolbox.domain.estimate import FieldSpec, FieldType
from agiletoolbox.domain.ids import AccountId, IssueKey, IssueTypeId, RoomId, TenantKey
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from agiletoolbox.domain.view import RoomView, view_of
from agiletoolbox.ports import ResyncAll, RoomChange, RoomSignal
from agiletoolbox.services.rooms import RoomService
from tests.unit.roomkit import ANA, BEN, CAI, ISSUE, STORY_POINTS, T0, TENANT

OTHER = TenantKey("tenant-two")


class World:
    """A service over in-memory adapters with one installed tenant and one issue."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.bus = MemoryEventBus()
        self.clock = ManualClock(T0)
        self.jira = MemoryJira()
        self.jira.add_issue(TENANT, ISSUE, FieldSpec(STORY_POINTS, FieldType.NUMBER))
        self.jira.add_issue(OTHER, ISSUE)
        for key in (TENANT, OTHER):
            self.store.tenants[key] = Tenant.install(
                key=key,
                base_url=f"https://{key.value}.atlassian.net",
                shared_secret="s" * 32,
                product_type=ProductType.JIRA,
                region=Region.US,
                now=T0,
            )
        self.service = RoomService(self.store.unit_of_work, self.bus, self.clock, self.jira)
        self.signals: list[RoomSignal] = []
        self.bus.subscribe(self.signals.append)

    async def open(self, config: RoomConfig | None = None) -> RoomId:
        room = await self.service.open(TENANT, ANA, ISSUE, config or RoomConfig())
        return room.id

    async def view(self, tenant: TenantKey, viewer: AccountId, room_id: RoomId) -> RoomView:
        """The viewer's view of the room, read through the service."""
        return view_of(await self.service.get(tenant, room_id), viewer)


@pytest.fixture
def world() -> World:
    return World()


async def test_open_view_and_find_by_issue(world: World) -> None:
    room_id = await world.open()
    room = await world.service.find(TENANT, ISSUE)
    assert room.id == room_id
    assert room.owner == ANA
    assert world.signals == [RoomChange(TENANT, room_id, 1)]
    with pytest.raises(NotFound):
        await world.service.find(TENANT, IssueKey("DEMO-2"))
    with pytest.raises(InvalidState, match="already has a room"):
        await world.service.open(TENANT, BEN, ISSUE, RoomConfig())


async def test_a_whole_round(world: World) -> None:
    room_id = await world.open(RoomConfig(field_id=STORY_POINTS))
    await world.service.join(TENANT, BEN, room_id, Role.VOTER)
    await world.service.join(TENANT, CAI, room_id, Role.OBSERVER)
    await world.service.vote(TENANT, ANA, room_id, "3")
    seen_by_ben = view_of(await world.service.vote(TENANT, BEN, room_id, "5"), BEN)
    assert {p.account_id: p.card for p in seen_by_ben.participants}[BEN] == "5"
    assert all(p.card is None for p in (await world.view(TENANT, CAI, room_id)).participants)
    revealed = view_of(await world.service.reveal(TENANT, ANA, room_id), ANA)
    assert revealed.results is not None
    assert revealed.results.closest_card == "5"
    estimated = await world.service.accept_estimate(TENANT, ANA, room_id, "5")
    assert estimated.state == "estimated"
    assert estimated.estimate is not None
    assert estimated.estimate.written
    assert world.jira.value(TENANT, ISSUE, STORY_POINTS) == 5
    after_reset = await world.service.reset(TENANT, ANA, room_id)
    assert after_reset.round == 2
    assert len(after_reset.history) == 1
    versions = [s.version for s in world.signals if isinstance(s, RoomChange)]
    assert versions == sorted(versions)
    assert versions[-1] == after_reset.version


async def test_a_failed_jira_write_leaves_the_estimate_unwritten_and_retry_works(
    world: World,
) -> None:
    room_id = await world.open(RoomConfig(field_id=STORY_POINTS))
    await world.service.vote(TENANT, ANA, room_id, "8")
    await world.service.reveal(TENANT, ANA, room_id)
    world.jira.fail_writes = 1
    with pytest.raises(JiraUnavailable):
        await world.service.accept_estimate(TENANT, ANA, room_id, "8")
    view = await world.view(TENANT, ANA, room_id)
    assert view.estimate is not None
    assert not view.estimate.written
    retried = await world.service.accept_estimate(TENANT, ANA, room_id, "8")
    assert retried.estimate is not None
    assert retried.estimate.written


async def test_accepting_again_writes_to_jira_only_what_jira_does_not_hold(
    world: World,
) -> None:
    # A retry after a failure between Jira's answer and the commit that marks the estimate
    # written (a database restart, say) must not write the same estimate a second time.
    room_id = await world.open(RoomConfig(field_id=STORY_POINTS))
    await world.service.vote(TENANT, ANA, room_id, "8")
    await world.service.reveal(TENANT, ANA, room_id)
    await world.service.accept_estimate(TENANT, ANA, room_id, "8")
    retried = await world.service.accept_estimate(TENANT, ANA, room_id, "8")
    assert retried.estimate is not None
    assert retried.estimate.written
    assert len(world.jira.writes) == 1
    # Someone changed the field in Jira meanwhile: accepting again writes it back.
    world.jira.issues[(TENANT, ISSUE)].values[STORY_POINTS] = 13
    await world.service.accept_estimate(TENANT, ANA, room_id, "8")
    assert len(world.jira.writes) == 2
    assert world.jira.value(TENANT, ISSUE, STORY_POINTS) == 8


async def test_a_field_off_screen_is_reported_before_anything_changes(world: World) -> None:
    room_id = await world.open(RoomConfig(deck=T_SHIRT, field_id=STORY_POINTS))
    world.jira.issues[(TENANT, ISSUE)].fields.clear()
    await world.service.vote(TENANT, ANA, room_id, "M")
    before = await world.service.reveal(TENANT, ANA, room_id)
    with pytest.raises(FieldNotOnScreen, match="edit screen"):
        await world.service.accept_estimate(TENANT, ANA, room_id, "M")
    assert (await world.view(TENANT, ANA, room_id)).version == before.version


async def test_estimate_needs_a_field(world: World) -> None:
    room_id = await world.open()
    with pytest.raises(InvalidState, match="field"):
        await world.service.accept_estimate(TENANT, ANA, room_id, "5")


async def test_tenants_do_not_see_each_other(world: World) -> None:
    room_id = await world.open()
    with pytest.raises(NotFound):
        await world.view(OTHER, ANA, room_id)
    with pytest.raises(NotFound):
        await world.service.vote(OTHER, ANA, room_id, "5")
    assert await world.view(TENANT, ANA, room_id)


async def test_unknown_and_disabled_tenants_are_refused(world: World) -> None:
    room_id = await world.open()
    with pytest.raises(AccessRefused):
        await world.view(TenantKey("stranger"), ANA, room_id)
    tenant = world.store.tenants[TENANT]
    tenant.disable(T0)
    with pytest.raises(AccessRefused):
        await world.view(TENANT, ANA, room_id)


async def test_remove_deletes_the_room(world: World) -> None:
    room_id = await world.open()
    await world.service.join(TENANT, BEN, room_id, Role.VOTER)
    with pytest.raises(NotPermitted):
        await world.service.remove(TENANT, BEN, room_id)
    await world.service.remove(TENANT, ANA, room_id)
    assert world.store.rooms == {}
    with pytest.raises(NotFound):
        await world.view(TENANT, ANA, room_id)
    assert isinstance(world.signals[-1], RoomChange)


async def test_no_op_changes_publish_nothing(world: World) -> None:
    room_id = await world.open()
    count = len(world.signals)
    await world.service.join(TENANT, ANA, room_id, Role.VOTER)
    await world.service.withdraw(TENANT, ANA, room_id)
    assert len(world.signals) == count


async def test_concurrent_votes_all_land(world: World) -> None:
    room_id = await world.open()
    people = [ANA, BEN, CAI]
    for person in people[1:]:
        await world.service.join(TENANT, person, room_id, Role.VOTER)
    await asyncio.gather(*(world.service.vote(TENANT, p, room_id, "5") for p in people))
    view = await world.view(TENANT, ANA, room_id)
    assert all(p.voted for p in view.participants)


async def test_a_lost_race_is_retried_on_fresh_state(world: World) -> None:
    room_id = await world.open()
    await world.service.join(TENANT, BEN, room_id, Role.VOTER)
    store_commit = world.store.unit_of_work
    raced = {"done": False}

    def racing_unit_of_work() -> object:
        uow = store_commit()
        original = uow.commit

        async def commit() -> None:
            if not raced["done"]:
                raced["done"] = True
                rival = store_commit()
                async with rival:
                    room = await rival.rooms.get(TENANT, room_id)
                    room.vote(BEN, "8", world.clock.now())
                    await rival.rooms.save(room)
                    await rival.commit()
            await original()

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    service = RoomService(racing_unit_of_work, world.bus, world.clock, world.jira)  # type: ignore[arg-type]
    room = await service.vote(TENANT, ANA, room_id, "3")
    assert set(room.votes) == {ANA, BEN}


async def test_an_endless_race_surfaces_as_a_conflict(world: World) -> None:
    room_id = await world.open()

    def always_losing() -> object:
        uow = world.store.unit_of_work()

        async def commit() -> None:
            raise ConcurrentChange("someone was faster")

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    service = RoomService(always_losing, world.bus, world.clock, world.jira)  # type: ignore[arg-type]
    with pytest.raises(ConcurrentChange):
        await service.vote(TENANT, ANA, room_id, "3")


async def test_saved_defaults(world: World) -> None:
    story = IssueTypeId("10001")
    config = RoomConfig(deck=T_SHIRT, auto_reveal=True)
    await world.service.open(TENANT, ANA, ISSUE, config, save_default_for=story)
    other_issue = IssueKey("DEMO-7")
    assert await world.service.saved_defaults(TENANT, ANA, other_issue, story) == config
    assert await world.service.saved_defaults(TENANT, BEN, other_issue, story) is None
    assert await world.service.saved_defaults(TENANT, ANA, other_issue, IssueTypeId("2")) is None


async def test_presence_and_resync_signal(world: World) -> None:
    room_id = await world.open()
    room = await world.service.set_presence(TENANT, ANA, room_id, False)
    assert not room.owner_present
    world.bus.resync()
    assert world.signals[-1] == ResyncAll()


async def test_a_known_room_spares_the_read_and_a_stale_one_costs_a_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agiletoolbox.adapters.memory.store import MemoryRoomRepository

    room_id = await world.open()
    await world.service.join(TENANT, BEN, room_id, Role.VOTER)
    reads: list[RoomId] = []
    get_served = MemoryRoomRepository.get_served

    async def counted(repository: MemoryRoomRepository, tenant: TenantKey, key: RoomId) -> object:
        reads.append(key)
        return await get_served(repository, tenant, key)

    monkeypatch.setattr(MemoryRoomRepository, "get_served", counted)
    known = await world.service.vote(TENANT, ANA, room_id, "3")
    assert reads == [room_id]
    after = await world.service.vote(TENANT, BEN, room_id, "5", known)
    assert reads == [room_id], "the room as last committed needs no read"
    assert set(after.votes) == {ANA, BEN}
    assert known.votes == {ANA: "3"}, "what the caller holds is left as it was"
    # A room that changed since the caller saw it: the write is refused, the retry reads.
    stale = await world.service.vote(TENANT, ANA, room_id, "8", known)
    assert reads == [room_id, room_id]
    assert stale.votes == {ANA: "8", BEN: "5"}
    assert [s.version for s in world.signals if isinstance(s, RoomChange)][-1] == stale.version


async def test_a_known_room_of_a_site_that_may_not_be_served_is_refused(world: World) -> None:
    room_id = await world.open()
    known = await world.service.join(TENANT, BEN, room_id, Role.VOTER)
    world.store.tenants[TENANT].disable(T0)
    with pytest.raises(AccessRefused):
        await world.service.vote(TENANT, BEN, room_id, "5", known)
    assert world.store.rooms[(TENANT, room_id)].votes == {}


async def test_several_rooms_are_read_at_once_with_what_reading_each_alone_would_say(
    world: World,
) -> None:
    room_id = await world.open()
    theirs = (await world.service.open(OTHER, ANA, ISSUE, RoomConfig())).id
    gone = RoomId.generate()
    world.store.tenants[OTHER].disable(T0)
    read = await world.service.get_many([(TENANT, room_id), (TENANT, gone), (OTHER, theirs)])
    assert read[TENANT, room_id] == await world.service.get(TENANT, room_id)
    assert isinstance(read[TENANT, gone], NotFound)
    assert isinstance(read[OTHER, theirs], AccessRefused)


async def test_a_site_keeps_at_most_its_bound_of_rooms_and_saved_defaults() -> None:
    from agiletoolbox.domain.errors import InvalidState
    from agiletoolbox.domain.ids import IssueTypeId
    from agiletoolbox.services.rooms import SiteBounds

    world = World()
    world.jira.all_issues_exist = True
    world.service = RoomService(
        world.store.unit_of_work,
        world.bus,
        world.clock,
        world.jira,
        SiteBounds(rooms=3, defaults=2),
    )
    story, bug = IssueTypeId("10001"), IssueTypeId("10004")
    for number, kind in ((1, story), (2, bug)):
        await world.service.open(TENANT, ANA, IssueKey(f"DEMO-{number}"), RoomConfig(), kind)
    with pytest.raises(InvalidState, match="2 saved defaults"):
        await world.service.open(TENANT, BEN, IssueKey("DEMO-3"), RoomConfig(), story)
    # Saving over one of your own saved defaults adds none.
    await world.service.open(TENANT, ANA, IssueKey("DEMO-3"), RoomConfig(), story)
    with pytest.raises(InvalidState, match="3 rooms"):
        await world.service.open(TENANT, ANA, IssueKey("DEMO-4"), RoomConfig())
    # Another site has its own bound.
    await world.service.open(OTHER, ANA, IssueKey("DEMO-4"), RoomConfig())
    assert len(world.store.rooms) == 4
