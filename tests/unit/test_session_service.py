"""The refinement session's use cases on in-memory adapters: rooms opened, taken over,
removed with the session."""

from __future__ import annotations

import pytest
from attrs import evolve

from agiletoolbox.adapters.memory import ManualClock, MemoryEventBus, MemoryJira, MemoryStore
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.deck import T_SHIRT
from agiletoolbox.domain.errors import JiraIssueNotFound, NotPermitted
from agiletoolbox.domain.estimate import FieldSpec, FieldType
from agiletoolbox.domain.ids import IssueKey, ProjectKey, RoomId, SessionId
from agiletoolbox.domain.session import IssueState, RefinementSession, SessionMode
from agiletoolbox.domain.session_summary import session_summary, summary_rows
from agiletoolbox.domain.tenant import ProductType, Region, Tenant
from agiletoolbox.ports import RoomSignal, SessionChange
from agiletoolbox.services.rooms import RoomService
from agiletoolbox.services.sessions import SessionService
from tests.unit.roomkit import ANA, BEN, STORY_POINTS, T0, TENANT

DEMO = ProjectKey("DEMO")
KEYS = [IssueKey(f"DEMO-{n}") for n in range(1, 5)]


class World:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.store.tenants[TENANT] = Tenant.install(
            key=TENANT,
            base_url="https://acme.atlassian.net",
            shared_secret="s" * 32,
            product_type=ProductType.JIRA,
            region=Region.US,
            now=T0,
        )
        self.clock = ManualClock(T0)
        self.bus = MemoryEventBus()
        self.jira = MemoryJira()
        for key in KEYS:
            self.jira.add_issue(TENANT, key, FieldSpec(STORY_POINTS, FieldType.NUMBER))
        self.sessions = SessionService(self.store.unit_of_work, self.bus, self.clock, self.jira)
        self.rooms = RoomService(self.store.unit_of_work, self.bus, self.clock, self.jira)


async def test_the_current_issue_gets_a_room_with_the_sessions_settings() -> None:
    world = World()
    config = RoomConfig(deck=T_SHIRT)
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS, SessionMode.LIVE, config)
    moved = await world.sessions.next(TENANT, ANA, session.id)
    assert moved.current == KEYS[0]
    entry = moved.item(KEYS[0])
    assert entry.state is IssueState.VOTING
    assert entry.opened_room
    assert entry.room_id is not None
    room = world.store.rooms[(TENANT, entry.room_id)]
    assert (room.issue_key, room.owner, room.config) == (KEYS[0], ANA, config)
    again = await world.sessions.start_issue(TENANT, ANA, session.id, KEYS[0])
    assert again.item(KEYS[0]).room_id == entry.room_id, "one room per issue"


async def test_an_issue_with_a_room_of_its_own_keeps_it_and_removal_leaves_it() -> None:
    world = World()
    own = await world.rooms.open(TENANT, BEN, KEYS[1], RoomConfig())
    session = await world.sessions.open(
        TENANT, ANA, DEMO, KEYS[:2], SessionMode.LIVE, RoomConfig(deck=T_SHIRT)
    )
    await world.sessions.next(TENANT, ANA, session.id)
    taken = await world.sessions.skip(TENANT, ANA, session.id)
    assert taken.current == KEYS[1]
    assert taken.item(KEYS[1]).room_id == own.id
    assert not taken.item(KEYS[1]).opened_room
    opened = taken.item(KEYS[0]).room_id
    with pytest.raises(NotPermitted):
        await world.sessions.remove(TENANT, BEN, session.id)
    await world.sessions.remove(TENANT, ANA, session.id)
    assert world.store.sessions == {}
    assert list(world.store.rooms) == [(TENANT, own.id)], "the room it opened went with it"
    assert opened is not None
    assert world.store.rooms[(TENANT, own.id)].config == RoomConfig(), "taken over as it was"


async def test_an_issue_jira_does_not_show_gets_no_room() -> None:
    world = World()
    missing = IssueKey("DEMO-99")
    session = await world.sessions.open(
        TENANT, ANA, DEMO, [missing], SessionMode.LIVE, RoomConfig()
    )
    with pytest.raises(JiraIssueNotFound):
        await world.sessions.next(TENANT, ANA, session.id)
    assert world.store.rooms == {}
    stored = world.store.sessions[(TENANT, session.id)]
    assert stored.item(missing).room_id is None


async def test_a_room_removed_on_its_own_is_not_removed_twice() -> None:
    world = World()
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS[:1], SessionMode.LIVE, RoomConfig())
    moved = await world.sessions.next(TENANT, ANA, session.id)
    room_id = moved.item(KEYS[0]).room_id
    assert isinstance(room_id, RoomId)
    await world.rooms.remove(TENANT, ANA, room_id)
    await world.sessions.remove(TENANT, ANA, session.id)
    assert world.store.rooms == {}
    assert world.store.sessions == {}


async def test_the_queue_follows_its_rooms_and_every_change_is_signalled() -> None:
    """Revealing, a new round and a written estimate move the issue's state in the session,
    in the room change's own commit; a vote does not touch the session."""
    world = World()
    signals: list[RoomSignal] = []
    world.bus.subscribe(signals.append)
    config = RoomConfig(field_id=STORY_POINTS)
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS[:2], SessionMode.LIVE, config)
    session = await world.sessions.next(TENANT, ANA, session.id)
    room_id = session.item(KEYS[0]).room_id
    assert room_id is not None

    def state() -> IssueState:
        return world.store.sessions[(TENANT, session.id)].item(KEYS[0]).state

    def session_versions() -> list[int]:
        return [s.version for s in signals if isinstance(s, SessionChange)]

    assert session_versions() == [1, 2, 3], "opened, moved to the first issue, its room"
    await world.rooms.join(TENANT, BEN, room_id, Role.VOTER)
    await world.rooms.vote(TENANT, ANA, room_id, "3")
    await world.rooms.vote(TENANT, BEN, room_id, "5")
    assert state() is IssueState.VOTING
    assert session_versions() == [1, 2, 3], "votes leave the session alone"
    await world.rooms.reveal(TENANT, ANA, room_id)
    assert state() is IssueState.REVEALED
    await world.rooms.reset(TENANT, ANA, room_id)
    assert state() is IssueState.VOTING
    await world.rooms.vote(TENANT, ANA, room_id, "5")
    await world.rooms.vote(TENANT, BEN, room_id, "5")
    await world.rooms.reveal(TENANT, ANA, room_id)
    await world.rooms.accept_estimate(TENANT, ANA, room_id, "5")
    assert state() is IssueState.ESTIMATED
    assert world.jira.value(TENANT, KEYS[0], STORY_POINTS) == 5
    assert session_versions() == [1, 2, 3, 4, 5, 6, 7]
    moved = await world.sessions.next(TENANT, ANA, session.id)
    assert moved.current == KEYS[1], "an estimated issue is not offered again"


async def test_the_record_of_a_session_holds_keys_and_numbers() -> None:
    world = World()
    config = RoomConfig(field_id=STORY_POINTS)
    session = await world.sessions.open(TENANT, ANA, DEMO, KEYS[:3], SessionMode.LIVE, config)
    session = await world.sessions.next(TENANT, ANA, session.id)
    room_id = session.item(KEYS[0]).room_id
    assert room_id is not None
    await world.rooms.join(TENANT, BEN, room_id, Role.VOTER)
    await world.rooms.vote(TENANT, ANA, room_id, "3")
    await world.rooms.vote(TENANT, BEN, room_id, "8")
    await world.rooms.reveal(TENANT, ANA, room_id)
    await world.rooms.reset(TENANT, ANA, room_id)
    await world.rooms.vote(TENANT, ANA, room_id, "5")
    await world.rooms.vote(TENANT, BEN, room_id, "5")
    await world.rooms.reveal(TENANT, ANA, room_id)
    await world.rooms.accept_estimate(TENANT, ANA, room_id, "5")
    await world.sessions.next(TENANT, ANA, session.id)
    await world.sessions.skip(TENANT, ANA, session.id)
    stored = world.store.sessions[(TENANT, session.id)]
    rooms = {key[1]: room for key, room in world.store.rooms.items()}
    record = session_summary(stored, rooms)
    first, second, third = record.issues
    assert (first.estimate, first.points, first.written) == ("5", 5, True)
    assert (first.votes, first.agreement, first.rounds) == (2, 1.0, 2)
    assert (second.state, second.estimate, second.votes, second.rounds) == ("skipped", None, 0, 0)
    assert (third.state, third.rounds) == ("voting", 0)
    assert (record.estimated, record.skipped, record.points) == (1, 1, 5)
    assert summary_rows(record)[0] == ["DEMO-1", "estimated", "5", "5", "yes", "2", "1", "2"]


def test_a_csv_cell_is_never_read_as_a_formula() -> None:
    record = session_summary(
        RefinementSession.open(TENANT, SessionId("s" * 22), DEMO, ANA, RoomConfig(),
                               SessionMode.LIVE, [KEYS[0]], T0),
        {},
    )  # fmt: skip
    estimated = evolve(record.issues[0], estimate="=HYPERLINK(1)")
    rows = summary_rows(evolve(record, issues=(estimated,)))
    assert rows[0][2] == "'=HYPERLINK(1)"
