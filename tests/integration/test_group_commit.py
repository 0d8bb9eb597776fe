"""Group commit: lone writes that arrive together share one commit, and nobody answers
for another's failure.

The first half drives `GroupCommit` over scripted connections, whose every step is
logged, to pin each path down; the second runs batches of room writes on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
import pytest
from asyncpg.pool import Pool, PoolConnectionProxy
from hypothesis import given, settings
from hypothesis import strategies as st

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.memory import MemoryJira
from agiletoolbox.adapters.postgres import KeyRing, PostgresDatabase, StorageUnavailable, open_pool
from agiletoolbox.adapters.postgres.commits import GroupCommit
from agiletoolbox.adapters.postgres.listener import PostgresEventBus
from agiletoolbox.adapters.postgres.room_sql import CHANNEL
from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.errors import NotFound
from agiletoolbox.domain.ids import IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.services.rooms import RoomService
from tests.contract.kit import ANA, SITE, T0, install
from tests.reliability.kit import eventually

# -- scripted connections --------------------------------------------------------------


class Script:
    """What a scripted connection does: which statements wait, fail or lose the line."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.held: dict[str, asyncio.Event] = {}
        self.refused: set[str] = set()
        self.lost: set[str] = set()
        self.lose_commit = False


class ScriptedConnection:
    """Enough of an asyncpg connection for `GroupCommit`: fetch and transactions."""

    def __init__(self, name: str, script: Script) -> None:
        self.name = name
        self.script = script

    def transaction(self) -> ScriptedTransaction:
        return ScriptedTransaction(self)

    async def fetch(self, query: str, *args: object) -> list[Any]:
        self.script.log.append((self.name, query))
        if query in self.script.held:
            await self.script.held[query].wait()
        if query in self.script.lost:
            raise asyncpg.InterfaceError("connection is closed")
        if query in self.script.refused:
            raise asyncpg.UniqueViolationError("duplicate key value")
        return [(query, *args)]


class ScriptedTransaction:
    def __init__(self, connection: ScriptedConnection) -> None:
        self.connection = connection

    async def start(self) -> None:
        self.connection.script.log.append((self.connection.name, "BEGIN"))

    async def commit(self) -> None:
        self.connection.script.log.append((self.connection.name, "COMMIT"))
        if self.connection.script.lose_commit:
            raise ConnectionResetError("connection reset by peer")

    async def rollback(self) -> None:
        self.connection.script.log.append((self.connection.name, "ROLLBACK"))


def connection(name: str, script: Script) -> PoolConnectionProxy:
    return cast(PoolConnectionProxy, ScriptedConnection(name, script))


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def queued_behind_a_held_write(
    commits: GroupCommit, script: Script, *names: str
) -> tuple[asyncio.Task[Any], list[asyncio.Task[Any]]]:
    """A write `first` that holds the only lane, and a write per name queued behind it
    (statement = the name; keys sort backwards from the names, as does the batch)."""
    script.held["first"] = asyncio.Event()
    first = asyncio.create_task(commits.write(connection("a", script), "first", (), ("a",)))
    await until(lambda: ("a", "first") in script.log)
    queued = [
        asyncio.create_task(commits.write(connection(n, script), n, (1,), (_backwards(n),)))
        for n in names
    ]
    await until(lambda: commits.waiting == len(names))
    return first, queued


def _backwards(name: str) -> str:
    return chr(ord("z") - (ord(name[0]) - ord("a")))


async def test_a_lone_write_runs_at_once_on_its_own_connection() -> None:
    commits, script = GroupCommit(lanes=1), Script()
    assert await commits.write(connection("a", script), "one", (7,), ("k",)) == [("one", 7)]
    assert script.log == [("a", "one")]
    assert (commits.batches, commits.waiting) == (0, 0)


async def test_writes_that_arrive_together_share_the_first_ones_commit() -> None:
    commits, script = GroupCommit(lanes=1), Script()
    first, queued = await queued_behind_a_held_write(commits, script, "b1", "c2", "d3")
    script.held["first"].set()
    assert await first == [("first",)]
    assert [await task for task in queued] == [[("b1", 1)], [("c2", 1)], [("d3", 1)]]
    # The first one queued leads, on its connection, in the order of the keys.
    assert script.log[1:] == [
        ("b1", "BEGIN"),
        ("b1", "d3"),
        ("b1", "c2"),
        ("b1", "b1"),
        ("b1", "COMMIT"),
    ]
    assert (commits.batches, commits.grouped, commits.waiting) == (1, 3, 0)
    # The lane is free again: the next write runs at once.
    assert await commits.write(connection("e", script), "e", (), ("e",)) == [("e",)]
    assert script.log[-1] == ("e", "e")


async def test_a_statement_the_server_refuses_fails_only_its_own_write() -> None:
    commits, script = GroupCommit(lanes=1), Script()
    script.refused.add("c2")
    first, queued = await queued_behind_a_held_write(commits, script, "b1", "c2", "d3")
    script.held["first"].set()
    await first
    outcomes = await asyncio.gather(*queued, return_exceptions=True)
    assert outcomes[0] == [("b1", 1)]
    assert isinstance(outcomes[1], asyncpg.UniqueViolationError)
    assert outcomes[2] == [("d3", 1)]
    # Rolled back, then each ran alone on its own connection.
    batch = script.log[1:6]
    assert batch == [("b1", "BEGIN"), ("b1", "d3"), ("b1", "c2"), ("b1", "ROLLBACK"), ("b1", "b1")]
    assert sorted(script.log[6:]) == [("c2", "c2"), ("d3", "d3")]
    assert commits.batches == 0


async def test_a_leader_that_loses_its_connection_fails_alone() -> None:
    commits, script = GroupCommit(lanes=1), Script()
    script.lost.add("c2")
    first, queued = await queued_behind_a_held_write(commits, script, "b1", "c2")
    script.held["first"].set()
    await first
    script.lost.clear()
    leader, other = await asyncio.gather(*queued, return_exceptions=True)
    assert isinstance(leader, StorageUnavailable)
    assert other == [("c2", 1)]
    assert script.log[-1] == ("c2", "c2")  # nothing was committed: it ran again, alone


async def test_a_connection_lost_during_the_commit_fails_the_whole_batch() -> None:
    commits, script = GroupCommit(lanes=1), Script()
    first, queued = await queued_behind_a_held_write(commits, script, "b1", "c2")
    script.lose_commit = True
    script.held["first"].set()
    await first
    outcomes = await asyncio.gather(*queued, return_exceptions=True)
    assert all(isinstance(outcome, StorageUnavailable) for outcome in outcomes)
    assert all("unknown" in str(outcome) for outcome in outcomes)
    assert script.log[-1] == ("b1", "COMMIT")


async def test_a_write_cancelled_while_it_waits_leaves_the_queue() -> None:
    commits, script = GroupCommit(lanes=1), Script()
    first, (b1, c2) = await queued_behind_a_held_write(commits, script, "b1", "c2")
    b1.cancel()
    await until(lambda: commits.waiting == 1)
    script.held["first"].set()
    await first
    assert await c2 == [("c2", 1)]
    assert ("b1", "b1") not in script.log
    assert b1.cancelled()


async def test_a_write_cancelled_as_it_was_handed_the_lead_passes_it_on() -> None:
    commits, script = GroupCommit(lanes=1), Script()
    first, (b1, c2) = await queued_behind_a_held_write(commits, script, "b1", "c2")
    script.held["first"].set()
    await until(first.done)
    b1.cancel()  # told to lead, not yet running
    assert await asyncio.wait_for(c2, 5) == [("c2", 1)]
    assert b1.cancelled()
    assert await commits.write(connection("e", script), "e", (), ("e",)) == [("e",)]


async def test_a_leader_cancelled_before_its_commit_sends_the_others_alone() -> None:
    commits, script = GroupCommit(lanes=1), Script()
    script.held["c2"] = asyncio.Event()
    first, (b1, c2) = await queued_behind_a_held_write(commits, script, "b1", "c2")
    script.held["first"].set()
    await until(lambda: ("b1", "c2") in script.log)  # the batch, on b1's connection
    b1.cancel()
    script.held["c2"].set()
    assert await c2 == [("c2", 1)]
    assert script.log[-1] == ("c2", "c2")
    await first


async def test_writes_run_at_once_while_a_lane_is_free() -> None:
    commits, script = GroupCommit(lanes=2), Script()
    script.held["slow"] = asyncio.Event()
    slow = asyncio.create_task(commits.write(connection("a", script), "slow", (), ("a",)))
    await until(lambda: ("a", "slow") in script.log)
    assert await commits.write(connection("b", script), "quick", (), ("b",)) == [("quick",)]
    script.held["slow"].set()
    await slow
    assert commits.batches == 0


# -- on PostgreSQL -----------------------------------------------------------------------


async def _opened(database: PostgresDatabase, count: int) -> list[Room]:
    """`count` rooms of the site, stored."""
    rooms = []
    for n in range(count):
        opened = Room.open(SITE, RoomId.generate(), IssueKey(f"GC-{n + 1}"), ANA, RoomConfig(), T0)
        opened.drain_events()
        rooms.append(opened)
    await _open_rooms(database, rooms)
    return rooms


async def _open_rooms(database: PostgresDatabase, rooms: list[Room]) -> None:
    async with database.unit_of_work() as work:
        for each in rooms:
            await work.rooms.add(each)
        await work.commit()


@pytest.fixture
async def one_lane(
    database_url: str, keys: KeyRing, pool: Pool
) -> AsyncIterator[tuple[PostgresDatabase, RoomService]]:
    """A database whose group commit has one lane, over a pool of its own (the `pool`
    fixture empties every table first), with the site installed, and its room service."""
    async with open_pool(database_url, min_size=2, max_size=10) as opened:
        database = PostgresDatabase(opened, keys)
        database.commits = GroupCommit(lanes=1)
        await install(database.unit_of_work)
        service = RoomService(
            database.unit_of_work, PostgresEventBus("unused"), SystemClock(), MemoryJira()
        )
        yield database, service


@asynccontextmanager
async def lane_held(
    database_url: str, database: PostgresDatabase, service: RoomService, held: Room
) -> AsyncIterator[asyncio.Task[Any]]:
    """A vote in `held` that takes the only lane and waits there for the room's row,
    which another connection holds until the block ends."""
    admin = await asyncpg.connect(database_url)
    try:
        async with admin.transaction():
            await admin.execute("SELECT FROM rooms WHERE room_id = $1 FOR UPDATE", held.id.value)
            first = asyncio.create_task(service.vote(SITE, ANA, held.id, "5"))
            assert await eventually(lambda: database.commits.running == 1, within=10)
            yield first
    finally:
        await admin.close()


@pytest.mark.postgres
async def test_votes_in_many_rooms_commit_together_and_each_notifies(
    database_url: str, one_lane: tuple[PostgresDatabase, RoomService]
) -> None:
    database, service = one_lane
    rooms = await _opened(database, 6)
    heard: list[dict[str, Any]] = []
    listener = await asyncpg.connect(database_url)
    try:
        await listener.add_listener(CHANNEL, lambda *a: heard.append(json.loads(a[3])))
        async with lane_held(database_url, database, service, rooms[0]) as first:
            rest = [
                asyncio.create_task(service.vote(SITE, ANA, each.id, "8")) for each in rooms[1:]
            ]
            assert await eventually(lambda: database.commits.waiting == len(rest), within=10)
        await asyncio.gather(first, *rest)
        assert await eventually(lambda: len(heard) == len(rooms), within=10)
    finally:
        await listener.close()
    assert (database.commits.batches, database.commits.grouped) == (1, len(rest))
    async with database.unit_of_work() as work:
        for each in rooms:
            stored = await work.rooms.get(SITE, each.id)
            assert stored.votes == {ANA: "5" if each is rooms[0] else "8"}
            assert stored.version == each.version + 1
    assert sorted((h["r"], h["v"]) for h in heard) == sorted(
        (each.id.value, each.version + 1) for each in rooms
    )


@pytest.mark.postgres
async def test_a_write_the_database_refuses_in_a_batch_fails_alone(
    database_url: str, one_lane: tuple[PostgresDatabase, RoomService]
) -> None:
    database, service = one_lane
    rooms = await _opened(database, 3)
    # A room of a site that was never installed: its insert breaks a foreign key.
    stray = Room.open(
        TenantKey("jira:site/absent"), RoomId.generate(), IssueKey("GC-9"), ANA, RoomConfig(), T0
    )
    async with lane_held(database_url, database, service, rooms[0]) as first:
        votes = [asyncio.create_task(service.vote(SITE, ANA, r.id, "3")) for r in rooms[1:]]
        refused = asyncio.create_task(_open_rooms(database, [stray]))
        assert await eventually(lambda: database.commits.waiting == 3, within=10)
    outcomes = await asyncio.gather(first, *votes, refused, return_exceptions=True)
    assert isinstance(outcomes[-1], NotFound)
    assert not any(isinstance(outcome, BaseException) for outcome in outcomes[:-1])
    assert database.commits.batches == 0
    async with database.unit_of_work() as work:
        for each in rooms[1:]:
            assert (await work.rooms.get(SITE, each.id)).votes == {ANA: "3"}


# -- any schedule ------------------------------------------------------------------------


class Ledger(ScriptedConnection):
    """A scripted connection that books what it committed: statements run alone, and
    those of a transaction that reached its commit."""

    def __init__(self, name: str, script: Script, dead: bool, pauses: int) -> None:
        super().__init__(name, script)
        self.dead = dead
        self.pauses = pauses
        self.pending: list[str] | None = None

    def transaction(self) -> ScriptedTransaction:
        ledger = self

        class Booked(ScriptedTransaction):
            async def start(self) -> None:
                ledger.pending = []

            async def commit(self) -> None:
                ledger.script.log.extend(("committed", query) for query in ledger.pending or ())
                ledger.pending = None

            async def rollback(self) -> None:
                ledger.pending = None

        return Booked(self)

    async def fetch(self, query: str, *args: object) -> list[Any]:
        for _ in range(self.pauses):
            await asyncio.sleep(0)
        if self.dead:
            raise asyncpg.InterfaceError("connection is closed")
        if query in self.script.refused:
            raise asyncpg.UniqueViolationError("duplicate key value")
        if self.pending is None:
            self.script.log.append(("committed", query))
        else:
            self.pending.append(query)
        return [(query, *args)]


WRITE = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["ok", "ok", "ok", "refused", "dead"]),
        "pauses": st.integers(0, 3),
        "arrives_after": st.integers(0, 3),
        "cancel_after": st.none() | st.integers(0, 6),
    }
)


@settings(max_examples=300, deadline=None)
@given(writes=st.lists(WRITE, min_size=1, max_size=10), lanes=st.integers(1, 3))
def test_every_write_gets_its_own_answer_whatever_the_schedule(
    writes: list[dict[str, Any]], lanes: int
) -> None:
    """Whatever arrives when, fails or is cancelled: a write on a live connection that
    the server accepts and nobody cancels commits exactly once; a refused one fails with
    the server's error and commits nothing; nothing hangs, and the lanes end idle."""

    async def scenario() -> None:
        commits, script = GroupCommit(lanes=lanes), Script()
        tasks: list[asyncio.Task[Any]] = []
        for n, write in enumerate(writes):
            name = f"w{n}"
            if write["kind"] == "refused":
                script.refused.add(name)
            ledger = Ledger(name, script, write["kind"] == "dead", write["pauses"])
            for _ in range(write["arrives_after"]):
                await asyncio.sleep(0)
            written = commits.write(cast(PoolConnectionProxy, ledger), name, (), (name,))
            tasks.append(asyncio.create_task(written))
        for tick in range(7):
            for task, write in zip(tasks, writes, strict=True):
                if write["cancel_after"] == tick:
                    task.cancel()
            await asyncio.sleep(0)
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        committed = [query for what, query in script.log if what == "committed"]
        for n, (write, outcome) in enumerate(zip(writes, outcomes, strict=True)):
            name = f"w{n}"
            if isinstance(outcome, asyncio.CancelledError):
                assert committed.count(name) <= 1
            elif write["kind"] == "refused":
                assert isinstance(outcome, asyncpg.UniqueViolationError)
                assert name not in committed
            elif isinstance(outcome, StorageUnavailable):
                # Its own connection died while it ran alone or led a batch.
                assert write["kind"] == "dead"
                assert name not in committed
            else:
                assert outcome == [(name,)]
                assert committed.count(name) == 1
        assert (commits.running, commits.waiting) == (0, 0)

    asyncio.run(scenario())
