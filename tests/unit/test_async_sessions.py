"""Async refinement sessions on in-memory adapters: every issue votes at once with nothing
revealed, the review sorts by agreement, "accept all unanimous", and the deadline job."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agiletoolbox.adapters.memory.jobs import MemoryJobLock
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.errors import InvalidState, InvalidValue, JiraIssueNotFound, NotPermitted
from agiletoolbox.domain.ids import IssueKey, RoomId
from agiletoolbox.domain.session import IssueState, RefinementSession, SessionMode
from agiletoolbox.domain.session_review import ReviewMark
from agiletoolbox.domain.session_view import session_view
from agiletoolbox.services.sessions import DEADLINE_JOB
from tests.unit.roomkit import ANA, BEN, CAI, DEE, STORY_POINTS, T0, TENANT
from tests.unit.test_session_service import DEMO, KEYS, World

CONFIG = RoomConfig(field_id=STORY_POINTS, auto_reveal=True, offline_voting=False)


def _room_of(session: RefinementSession, key: IssueKey) -> RoomId:
    room_id = session.item(key).room_id
    assert room_id is not None
    return room_id


async def _vote(world: World, session: RefinementSession, votes: dict[str, list[str]]) -> None:
    """Each person (by initial) votes the cards given, one per issue of KEYS in order
    (`-`: joins its room, no vote)."""
    people = {"a": ANA, "b": BEN, "c": CAI, "d": DEE}
    for who, cards in votes.items():
        for key, card in zip(KEYS, cards, strict=False):
            room_id = _room_of(session, key)
            if who != "a":
                await world.rooms.join(TENANT, people[who], room_id, Role.VOTER)
            if card != "-":
                await world.rooms.vote(TENANT, people[who], room_id, card)


async def test_an_async_session_opens_every_room_at_once_and_never_reveals() -> None:
    world = World()
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS, SessionMode.ASYNC, CONFIG)
    assert session.estimating
    assert all(e.state is IssueState.VOTING and e.opened_room for e in session.queue)
    rooms = [world.store.rooms[(TENANT, _room_of(session, key))] for key in KEYS]
    assert all(not r.config.auto_reveal and r.config.offline_voting for r in rooms)
    assert rooms[0].config.field_id == STORY_POINTS, "the rest of the settings as given"

    # Auto-reveal is off: Ben's vote, the only other voter's, leaves the cards hidden.
    await _vote(world, session, {"a": ["3"], "b": ["5"]})
    first = _room_of(session, KEYS[0])
    assert not world.store.rooms[(TENANT, first)].revealed
    # Neither the owner nor a new round can show or wipe the hidden votes before review.
    with pytest.raises(InvalidState, match="reviews"):
        await world.rooms.reveal(TENANT, ANA, first)
    with pytest.raises(InvalidState, match="reviews"):
        await world.rooms.reset(TENANT, ANA, first)
    assert world.store.rooms[(TENANT, first)].votes == {ANA: "3", BEN: "5"}
    # The owner does not drive an async session before the review.
    for step in (
        world.sessions.next(TENANT, ANA, session.id),
        world.sessions.start_issue(TENANT, ANA, session.id, KEYS[1]),
    ):
        with pytest.raises(InvalidState, match="review it first"):
            await step


async def test_the_view_counts_progress_per_person_and_shows_only_your_own_cards() -> None:
    world = World()
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS, SessionMode.ASYNC, CONFIG)
    await _vote(world, session, {"a": ["3", "5", "8", "1"], "b": ["5", "-", "8"], "c": ["-"]})
    stored = world.store.sessions[(TENANT, session.id)]
    rooms = {room.id: room for (_, _), room in world.store.rooms.items()}
    as_ben = session_view(stored, rooms, BEN)
    assert [(p.account_id, p.done) for p in as_ben.progress] == [(ANA, 4), (BEN, 2), (CAI, 0)]
    assert [i.your_card for i in as_ben.issues] == ["5", None, "8", None]
    assert [i.voted for i in as_ben.issues] == [2, 1, 2, 1]
    assert all(i.agreement is None and i.review_agreement is None for i in as_ben.issues)


async def test_review_puts_the_least_agreed_first_and_turns_the_session_live() -> None:
    world = World()
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS, SessionMode.ASYNC, CONFIG)
    # DEMO-1 unanimous, DEMO-2 far apart, DEMO-3 nobody, DEMO-4 close.
    await _vote(world, session, {"a": ["5", "1", "-", "5"], "b": ["5", "13", "-", "8"]})
    with pytest.raises(NotPermitted):
        await world.sessions.review(TENANT, BEN, session.id)
    reviewed = await world.sessions.review(TENANT, ANA, session.id)
    order = [e.issue_key.value for e in reviewed.queue]
    assert order == ["DEMO-2", "DEMO-4", "DEMO-1", "DEMO-3"]
    marks = {e.issue_key.value: e.review for e in reviewed.queue}
    assert marks["DEMO-1"] == ReviewMark(2, 1.0)
    assert marks["DEMO-1"] is not None
    assert marks["DEMO-1"].unanimous
    assert marks["DEMO-3"] == ReviewMark(0, None)
    assert (reviewed.mode, reviewed.current, reviewed.reviewed_at) == (
        SessionMode.LIVE,
        IssueKey("DEMO-2"),
        T0,
    )
    # Live from here: the owner reveals, and a re-vote is a new round.
    room_id = _room_of(reviewed, IssueKey("DEMO-2"))
    await world.rooms.reveal(TENANT, ANA, room_id)
    await world.rooms.reset(TENANT, ANA, room_id)
    assert world.store.rooms[(TENANT, room_id)].round == 2
    with pytest.raises(InvalidState, match="only an async session"):
        await world.sessions.review(TENANT, ANA, session.id)


async def test_accept_all_unanimous_writes_each_and_reports_what_failed() -> None:
    world = World()
    off_screen = IssueKey("DEMO-5")
    world.jira.add_issue(TENANT, off_screen)  # its edit screen lacks the field
    keys = [*KEYS, off_screen]
    session = await world.sessions.open(TENANT, ANA, DEMO, keys, SessionMode.ASYNC, CONFIG)
    await _vote(world, session, {"a": ["5", "1", "?", "8"], "b": ["5", "13", "?", "8"]})
    for who in (ANA, BEN):
        room_id = _room_of(session, off_screen)
        if who == BEN:
            await world.rooms.join(TENANT, BEN, room_id, Role.VOTER)
        await world.rooms.vote(TENANT, who, room_id, "2")
    with pytest.raises(InvalidState, match="review"):
        await world.sessions.accept_unanimous(TENANT, ANA, session.id)
    await world.sessions.review(TENANT, ANA, session.id)
    with pytest.raises(NotPermitted):
        await world.sessions.accept_unanimous(TENANT, BEN, session.id)

    done = await world.sessions.accept_unanimous(TENANT, ANA, session.id)
    assert [k.value for k in done.accepted] == ["DEMO-1", "DEMO-4"], "not ? ? nor 1 / 13"
    assert [k.value for k in done.failed[0][:1]] == ["DEMO-5"]
    assert "DEMO-5" in done.failed[0][1]
    assert world.jira.value(TENANT, KEYS[0], STORY_POINTS) == 5
    assert world.jira.value(TENANT, KEYS[3], STORY_POINTS) == 8
    states = {e.issue_key.value: e.state for e in done.session.queue}
    assert states["DEMO-1"] is IssueState.ESTIMATED
    assert states["DEMO-4"] is IssueState.ESTIMATED
    assert states["DEMO-2"] is IssueState.VOTING
    again = await world.sessions.accept_unanimous(TENANT, ANA, session.id)
    assert again.accepted == (), "written ones are not written twice"


async def test_the_deadline_job_reviews_once_and_only_when_due() -> None:
    world = World()
    deadline = T0 + timedelta(hours=2)
    session = await world.sessions.open(
        TENANT, ANA, DEMO, KEYS, SessionMode.ASYNC, CONFIG, deadline=deadline
    )
    live = await world.sessions.open(TENANT, ANA, DEMO, KEYS[:1], SessionMode.LIVE, CONFIG)
    lock = MemoryJobLock()
    assert await world.sessions.review_due(lock) == 0
    world.clock.advance(timedelta(hours=2))
    async with lock.exclusive(DEADLINE_JOB):
        assert await world.sessions.review_due(lock) is None, "another process holds the job"
    before = world.store.sessions[(TENANT, session.id)].version
    assert await world.sessions.review_due(lock) == 1
    assert await world.sessions.review_due(lock) == 0
    stored = world.store.sessions[(TENANT, session.id)]
    assert (stored.mode, stored.reviewed_at, stored.version) == (
        SessionMode.LIVE,
        deadline,
        before + 1,
    )
    assert world.store.sessions[(TENANT, live.id)].reviewed_at is None


async def test_deadlines_are_for_async_sessions_and_ahead_by_at_most_ninety_days() -> None:
    world = World()
    for mode, deadline in (
        (SessionMode.LIVE, T0 + timedelta(days=1)),
        (SessionMode.ASYNC, T0),
        (SessionMode.ASYNC, T0 + timedelta(days=91)),
    ):
        with pytest.raises(InvalidValue):
            await world.sessions.open(TENANT, ANA, DEMO, KEYS, mode, CONFIG, deadline=deadline)
    assert world.store.sessions == {}


async def test_an_async_session_takes_over_a_room_and_stops_it_revealing_by_itself() -> None:
    world = World()
    own = await world.rooms.open(TENANT, BEN, KEYS[0], RoomConfig(auto_reveal=True))
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS[:2], SessionMode.ASYNC, CONFIG)
    assert session.item(KEYS[0]).room_id == own.id
    await world.rooms.vote(TENANT, BEN, own.id, "3")
    room = world.store.rooms[(TENANT, own.id)]
    assert not room.revealed
    assert not room.config.auto_reveal


async def test_an_issue_jira_does_not_show_stops_the_async_session_before_it_opens() -> None:
    world = World()
    with pytest.raises(JiraIssueNotFound):
        await world.sessions.open(
            TENANT, ANA, DEMO, [*KEYS, IssueKey("DEMO-99")], SessionMode.ASYNC, CONFIG
        )
    assert world.store.sessions == {}
    assert world.store.rooms == {}


async def test_issues_added_to_an_async_session_vote_at_once() -> None:
    world = World()
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS[:2], SessionMode.ASYNC, CONFIG)
    added = await world.sessions.add_issues(TENANT, ANA, session.id, KEYS[2:])
    assert [e.state for e in added.queue] == [IssueState.VOTING] * 4
    assert all(e.room_id is not None for e in added.queue)
