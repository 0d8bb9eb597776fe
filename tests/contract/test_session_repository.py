"""Refinement sessions: the same promises on memory and on PostgreSQL."""

from __future__ import annotations

import pytest

from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.deck import T_SHIRT
from agiletoolbox.domain.errors import ConcurrentChange, NotFound
from agiletoolbox.domain.ids import IssueKey, ProjectKey, RoomId, SessionId
from agiletoolbox.domain.session import IssueState, RefinementSession, SessionMode, SessionState
from agiletoolbox.ports import UnitOfWorkFactory
from tests.contract.kit import ANA, BEN, OTHER_SITE, SITE, at, install, tenant

DEMO = ProjectKey("DEMO")
KEYS = [IssueKey(f"DEMO-{n}") for n in range(1, 7)]


def session(site: object = SITE, project: ProjectKey = DEMO, seconds: int = 0) -> RefinementSession:
    opened = RefinementSession.open(
        site,  # type: ignore[arg-type]
        SessionId.generate(),
        project,
        ANA,
        RoomConfig(deck=T_SHIRT),
        SessionMode.LIVE,
        [key for key in KEYS if key.project == project] or [IssueKey(f"{project}-1")],
        at(seconds),
    )
    opened.drain_events()
    return opened


async def store(uow: UnitOfWorkFactory, *sessions: RefinementSession) -> None:
    async with uow() as work:
        for each in sessions:
            await work.sessions.add(each)
        await work.commit()


async def test_a_session_reads_back_equal_through_every_change(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    stored = session()
    await store(uow, stored)
    async with uow() as work:
        assert await work.sessions.get(SITE, stored.id) == stored
    async with uow() as work:
        changed = await work.sessions.get(SITE, stored.id)
        changed.move(ANA, KEYS[5], 0, at(1))
        changed.start_issue(ANA, KEYS[5], at(2))
        changed.room_opened(KEYS[5], RoomId("room-of-demo-6-xx"), at(2))
        changed.room_opened(KEYS[0], RoomId("room-of-demo-1-xx"), at(2), opened=False)
        changed.issue_progressed(KEYS[5], IssueState.ESTIMATED, at(3))
        changed.remove_issue(ANA, KEYS[2], at(4))
        changed.skip(ANA, at(5))
        changed.erase_account(ANA, at(6))
        await work.sessions.save(changed)
        await work.commit()
    async with uow() as work:
        again = await work.sessions.get(SITE, stored.id)
    assert again == changed
    assert [e.issue_key for e in again.queue] == [KEYS[5], KEYS[0], KEYS[1], KEYS[3], KEYS[4]]
    assert again.state is SessionState.RUNNING
    assert again.owner is None
    assert again.rooms_opened() == [RoomId("room-of-demo-6-xx")]


async def test_a_save_from_a_stale_read_is_refused(uow: UnitOfWorkFactory) -> None:
    await install(uow)
    stored = session()
    await store(uow, stored)
    async with uow() as first, uow() as second:
        mine = await first.sessions.get(SITE, stored.id)
        theirs = await second.sessions.get(SITE, stored.id)
        mine.next(ANA, at(1))
        await first.sessions.save(mine)
        await first.commit()
        theirs.finish(ANA, at(2))

        async def save_theirs() -> None:
            await second.sessions.save(theirs)
            await second.commit()

        with pytest.raises(ConcurrentChange):
            await save_theirs()


async def test_sessions_by_project_newest_first_and_by_account(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant(SITE), tenant(OTHER_SITE))
    older, newer = session(seconds=1), session(seconds=2)
    elsewhere, other_project = session(OTHER_SITE), session(project=ProjectKey("OPS"))
    await store(uow, older, newer, elsewhere, other_project)
    async with uow() as work:
        listed = await work.sessions.for_project(SITE, DEMO)
        assert [s.id for s in listed] == [newer.id, older.id]
        assert await work.sessions.count_for_project(SITE, DEMO) == 2
        assert await work.sessions.count_for_project(OTHER_SITE, ProjectKey("OPS")) == 0
        owned = await work.sessions.with_account(ANA)
        assert sorted(owned) == sorted(
            (s.tenant, s.id) for s in (older, newer, elsewhere, other_project)
        )
        assert await work.sessions.with_account(BEN) == []


async def test_deleting_a_session_or_its_tenant_leaves_nothing(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant(SITE), tenant(OTHER_SITE))
    gone, kept, purged = session(), session(), session(OTHER_SITE)
    await store(uow, gone, kept, purged)
    async with uow() as work:
        await work.sessions.delete(SITE, gone.id)
        await work.tenants.delete(OTHER_SITE)
        await work.commit()
    async with uow() as work:
        for site, session_id in ((SITE, gone.id), (OTHER_SITE, purged.id)):
            with pytest.raises(NotFound):
                await work.sessions.get(site, session_id)
        assert (await work.sessions.get(SITE, kept.id)).id == kept.id


async def test_idle_sessions_are_listed_and_a_deletion_is_guarded_by_the_read(
    uow: UnitOfWorkFactory,
) -> None:
    from agiletoolbox.domain.config import RoomConfig as Config

    await install(uow)
    idle, recent = session(seconds=1), session(seconds=50)
    persistent = session(seconds=2)
    persistent.config = Config(persistent=True)
    await store(uow, idle, recent, persistent)
    async with uow() as work:
        assert await work.sessions.idle_before(at(10)) == [(SITE, idle.id)]
    async with uow() as first, uow() as second:
        read = await first.sessions.get(SITE, idle.id)
        used = await second.sessions.get(SITE, idle.id)
        used.next(ANA, at(60))
        await second.sessions.save(used)
        await second.commit()
        assert read.version == 1

        async def delete_stale() -> None:
            await first.sessions.delete(SITE, idle.id)
            await first.commit()

        with pytest.raises(ConcurrentChange):
            await delete_stale()
    async with uow() as work:
        assert (await work.sessions.get(SITE, idle.id)).version == used.version


async def test_the_sessions_that_hold_a_room_are_found_by_it(uow: UnitOfWorkFactory) -> None:
    await install(uow, tenant(), tenant(OTHER_SITE))
    room = RoomId("room-of-demo-1-xx")
    first, second, elsewhere, unrelated = session(), session(), session(OTHER_SITE), session()
    for each, opened in ((first, True), (second, False), (elsewhere, True)):
        each.start_issue(ANA, KEYS[0], at(1))
        each.room_opened(KEYS[0], room, at(1), opened=opened)
    await store(uow, first, second, elsewhere, unrelated)
    async with uow() as work:
        found = await work.sessions.following(SITE, room)
        assert sorted(found, key=lambda s: s.value) == sorted(
            [first.id, second.id], key=lambda s: s.value
        )
        assert await work.sessions.following(OTHER_SITE, room) == [elsewhere.id]
        assert await work.sessions.following(SITE, RoomId("room-of-nothing-xx")) == []
