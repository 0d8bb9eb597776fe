"""The memory store and PostgreSQL agree after any sequence of room operations.

A Hypothesis state machine plays rooms through the domain, each step in a unit of work of
either store, and checks after every step that both hold the same rooms and answered the
same way. The machine owns one event loop (Hypothesis rules are synchronous).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from agiletoolbox.adapters.memory import MemoryStore
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, close_pool, create_pool
from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.deck import FIBONACCI, T_SHIRT
from agiletoolbox.domain.errors import DomainError
from agiletoolbox.domain.estimate import FieldSpec, FieldType
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, RoomId
from agiletoolbox.domain.room import Room
from agiletoolbox.ports import UnitOfWorkFactory
from tests.contract.kit import SITE, at, tenant
from tests.integration.database import clean

pytestmark = pytest.mark.postgres

POINTS = FieldId("customfield_10016")
ISSUES = [IssueKey("DEMO-1"), IssueKey("DEMO-2")]
# Mixed case and non-ASCII ids: their order must survive the trip through the database.
PEOPLE = [AccountId(a) for a in ("557058:ana", "Zed", "5b10ac8d82e05b22cc7d4ef5", "qm:bob-1")]
CARDS = ["0", "1", "3", "13", "?", "M", "XL"]
DECKS = [FIBONACCI, T_SHIRT]

issues = st.sampled_from(ISSUES)
people = st.sampled_from(PEOPLE)
Action = Callable[[Room, datetime], object]


class StoresAgree(RuleBasedStateMachine):
    """Both stores see the same operations; they must hold the same rooms."""

    database_url: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.Runner()
        self.tick = 0
        self.memory = MemoryStore().unit_of_work
        self.pool = self.loop.run(create_pool(self.database_url, min_size=1, max_size=2))
        self.postgres = PostgresDatabase(self.pool, KeyRing.generate()).unit_of_work
        self.loop.run(self._prepare())

    async def _prepare(self) -> None:
        async with self.pool.acquire() as connection:
            await clean(connection)
        for uow in (self.memory, self.postgres):
            async with uow() as work:
                await work.tenants.save(tenant())
                await work.commit()

    def teardown(self) -> None:
        self.loop.run(close_pool(self.pool))
        self.loop.close()

    def now(self) -> datetime:
        self.tick += 1
        return at(self.tick)

    def both(self, issue: IssueKey, action: Action) -> None:
        now = self.now()
        outcomes = [self.loop.run(self._act(uow, issue, action, now)) for uow in self.stores]
        assert outcomes[0] == outcomes[1]

    @property
    def stores(self) -> tuple[UnitOfWorkFactory, UnitOfWorkFactory]:
        return (self.memory, self.postgres)

    async def _act(
        self, uow: UnitOfWorkFactory, issue: IssueKey, action: Action, now: datetime
    ) -> str:
        async with uow() as work:
            room = await work.rooms.find_by_issue(SITE, issue)
            if room is None:
                return "no room"
            try:
                action(room, now)
            except DomainError as refused:
                return type(refused).__name__
            if room.removed:
                await work.rooms.delete(SITE, room.id)
            else:
                await work.rooms.save(room)
            await work.commit()
            return f"version {room.version}"

    @initialize(owner=people, deck=st.sampled_from(DECKS), auto=st.booleans())
    def open_first_room(self, owner: AccountId, deck: object, auto: bool) -> None:
        # A room everyone joined, so that most steps have something to change.
        self.open_room(ISSUES[0], owner, deck, auto)
        for who in PEOPLE:
            self.join(ISSUES[0], who, observer=False)

    @rule(issue=issues, owner=people, deck=st.sampled_from(DECKS), auto=st.booleans())
    def open_room(self, issue: IssueKey, owner: AccountId, deck: object, auto: bool) -> None:
        room_id = RoomId.generate()
        config = RoomConfig(deck=deck, field_id=POINTS, auto_reveal=auto)  # type: ignore[arg-type]
        now = self.now()

        async def add(uow: UnitOfWorkFactory) -> str:
            async with uow() as work:
                try:
                    await work.rooms.add(Room.open(SITE, room_id, issue, owner, config, now))
                except DomainError as refused:
                    return type(refused).__name__
                await work.commit()
                return "opened"

        outcomes = [self.loop.run(add(uow)) for uow in self.stores]
        assert outcomes[0] == outcomes[1]

    @rule(issue=issues, who=people, observer=st.booleans())
    def join(self, issue: IssueKey, who: AccountId, observer: bool) -> None:
        role = Role.OBSERVER if observer else Role.VOTER
        self.both(issue, lambda r, now: r.join(who, role, now))

    @rule(issue=issues, who=people)
    def leave(self, issue: IssueKey, who: AccountId) -> None:
        self.both(issue, lambda r, now: r.leave(who, now))

    @rule(issue=issues, who=people, online=st.booleans())
    def presence(self, issue: IssueKey, who: AccountId, online: bool) -> None:
        self.both(issue, lambda r, now: r.set_presence(who, online, now))

    @rule(issue=issues, who=people, card=st.sampled_from(CARDS))
    def vote(self, issue: IssueKey, who: AccountId, card: str) -> None:
        self.both(issue, lambda r, now: r.vote(who, card, now))

    @rule(issue=issues, who=people)
    def withdraw(self, issue: IssueKey, who: AccountId) -> None:
        self.both(issue, lambda r, now: r.withdraw(who, now))

    @rule(issue=issues, who=people)
    def reveal(self, issue: IssueKey, who: AccountId) -> None:
        self.both(issue, lambda r, now: r.reveal(who, now))

    @rule(issue=issues, who=people)
    def reset(self, issue: IssueKey, who: AccountId) -> None:
        self.both(issue, lambda r, now: r.reset(who, now))

    @rule(issue=issues, who=people)
    def take_control(self, issue: IssueKey, who: AccountId) -> None:
        self.both(issue, lambda r, now: r.take_control(who, now))

    @rule(issue=issues, who=people, offline=st.booleans(), question=st.booleans())
    def configure(self, issue: IssueKey, who: AccountId, offline: bool, question: bool) -> None:
        def change(room: Room, now: datetime) -> None:
            config = RoomConfig(
                deck=room.config.deck,
                field_id=POINTS,
                offline_voting=offline,
                question_card=question,
                persistent=offline and question,
            )
            room.configure(who, config, now)

        self.both(issue, change)

    @rule(issue=issues, who=people, value=st.sampled_from(["3", "13", "2.5"]))
    def accept(self, issue: IssueKey, who: AccountId, value: str) -> None:
        spec = FieldSpec(POINTS, FieldType.NUMBER)
        self.both(issue, lambda r, now: r.accept_estimate(who, value, spec, now))

    @rule(issue=issues)
    def written(self, issue: IssueKey) -> None:
        def mark(room: Room, now: datetime) -> None:
            if room.estimate is not None:
                room.mark_estimate_written(room.estimate, now)

        self.both(issue, mark)

    @rule(issue=issues, who=people)
    def erase(self, issue: IssueKey, who: AccountId) -> None:
        self.both(issue, lambda r, now: r.erase_account(who, now))

    @rule(issue=issues, who=people)
    def remove(self, issue: IssueKey, who: AccountId) -> None:
        self.both(issue, lambda r, now: r.remove(who, now))

    @invariant()
    def same_rooms(self) -> None:
        async def rooms(uow: UnitOfWorkFactory) -> list[Room | None]:
            async with uow() as work:
                return [await work.rooms.find_by_issue(SITE, issue) for issue in ISSUES]

        memory, postgres = (self.loop.run(rooms(uow)) for uow in self.stores)
        assert memory == postgres


def test_memory_and_postgres_agree(database_url: str) -> None:
    StoresAgree.database_url = database_url
    run_state_machine_as_test(
        StoresAgree,
        settings=settings(
            max_examples=30,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
