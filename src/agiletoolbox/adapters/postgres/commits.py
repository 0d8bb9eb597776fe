"""Group commit: the lone writes of concurrent units of work share one commit.

Every room write NOTIFYs in its own transaction, and PostgreSQL serialises notifying
commits: from pre-commit until its commit record is flushed, a transaction that notified
holds the notification queue's lock, so two of them never share a WAL flush. Without
help a process would pay one flush per room change, one after the other, however many
rooms change at once.

A unit of work whose only write is one statement at commit (a vote, and most changes)
hands that statement to its process's `GroupCommit`:

- When fewer than `LANES` batches are running, the statement runs at once on its own
  connection, alone, a transaction of its own: a lone writer waits for nobody.
- Statements that arrive while every lane is busy queue up. When a batch ends, the first
  of them leads the next, on its own connection: in one transaction it runs the queued
  statements, ordered by their keys (so that batches take row locks in the same order,
  in this process or another, and cannot deadlock), and one commit makes them all
  durable with one flush.

Nobody answers for another's failure:

- A statement that fails in a batch (a unique violation, a lost race the server detects)
  aborts the transaction. It is rolled back, and every unit of work of the batch then runs
  its statement alone, on its own connection, and gets its own answer.
- A connection lost before the commit was sent: nothing was committed, and the others run
  theirs alone; the leader, whose connection was lost, gets `StorageUnavailable`.
- A connection lost during the commit: whether it committed is unknown, and every unit of
  work of the batch gets `StorageUnavailable`, as a lone write would.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Final, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from agiletoolbox.adapters.postgres.errors import UNAVAILABLE, StorageUnavailable, storage_errors

MOST = 64
"""The most statements one batch commits (the rest wait for the next)."""
LANES = 2
"""How many batches may run at once. One alone would idle the database while its
statements travel to and fro; two keep it busy while commits take turns (measured with
`benchmarks/storage.py`: one lane lost a tenth of the votes/s of lone writes, two or
three gained a tenth, more converged on lone writes)."""

Rows = list[asyncpg.Record]


class _Signal:
    """What a queued unit of work is told instead of its rows."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


LEAD: Final = _Signal("LEAD")
"""Run the next batch on your connection."""
ALONE: Final = _Signal("ALONE")
"""The batch failed before it committed anything: run your statement on your own."""


class _Ticket:
    """One unit of work's statement, waiting in the queue or running in a batch.

    Its future carries rows, a signal, or the error to raise (as a value, so that an
    error nobody waits for any more is not reported as never retrieved).
    """

    __slots__ = ("args", "future", "order", "query")

    def __init__(self, query: str, args: Sequence[object], order: tuple[str, ...]) -> None:
        self.query = query
        self.args = args
        self.order = order
        self.future: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    def tell(self, outcome: object) -> None:
        if not self.future.done():
            self.future.set_result(outcome)


class GroupCommit:
    """The process's queue of lone writes (one per connection pool)."""

    def __init__(self, *, most: int = MOST, lanes: int = LANES) -> None:
        self._most = most
        self._lanes = lanes
        self._queue: deque[_Ticket] = deque()
        self._running = 0
        self.batches = 0
        """Batches of two statements or more that committed (for tests and benchmarks)."""
        self.grouped = 0
        """Statements those batches committed."""

    @property
    def running(self) -> int:
        """How many lanes run a write or a batch now."""
        return self._running

    @property
    def waiting(self) -> int:
        """How many statements wait for the next batch."""
        return len(self._queue)

    async def write(
        self,
        connection: PoolConnectionProxy,
        query: str,
        args: Sequence[object],
        order: tuple[str, ...],
    ) -> Rows:
        """Run one unit of work's only write, alone or in a batch; its rows."""
        ticket = _Ticket(query, args, order)
        if self._running >= self._lanes:
            self._queue.append(ticket)
            try:
                outcome = await ticket.future
            except asyncio.CancelledError:
                self._abandon(ticket)
                raise
            if outcome is ALONE:
                return await _alone(connection, ticket)
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome is not LEAD:
                return cast(Rows, outcome)
        else:
            self._running += 1
        batch = [ticket, *self._take()]
        try:
            if len(batch) == 1:
                return await _alone(connection, ticket)
            return await self._run(connection, ticket, batch)
        finally:
            self._pass_on()

    def _take(self) -> list[_Ticket]:
        taken: list[_Ticket] = []
        while self._queue and len(taken) < self._most - 1:
            ticket = self._queue.popleft()
            if not ticket.future.done():  # not cancelled while it waited
                taken.append(ticket)
        return taken

    def _pass_on(self) -> None:
        """Hand the lead to the first one still waiting, or stand idle."""
        while self._queue:
            ticket = self._queue.popleft()
            if not ticket.future.done():
                ticket.tell(LEAD)
                return
        self._running -= 1

    def _abandon(self, ticket: _Ticket) -> None:
        """A waiting unit of work was cancelled: leave the queue, or pass the lead on."""
        if ticket in self._queue:
            self._queue.remove(ticket)
        elif (
            ticket.future.done()
            and not ticket.future.cancelled()
            and ticket.future.result() is LEAD
        ):
            self._pass_on()
        # Otherwise its statement is in a running batch, and may still commit (as a lone
        # write cancelled in flight may).

    async def _run(
        self, connection: PoolConnectionProxy, mine: _Ticket, batch: list[_Ticket]
    ) -> Rows:
        """Run the batch in one transaction on the leader's connection; the leader's rows."""
        others = [ticket for ticket in batch if ticket is not mine]
        stage = _Stage()
        try:
            results = await _in_one_transaction(connection, batch, stage)
        except BaseException as exc:
            # The connection was lost, or the leader cancelled (or a bug): before the
            # commit was sent nothing was committed; during it, nobody knows.
            for ticket in others:
                ticket.tell(_unknown() if stage.committing else ALONE)
            if isinstance(exc, UNAVAILABLE):
                raise (_unknown() if stage.committing else _unavailable()) from exc
            raise
        if results is None:
            for ticket in others:
                ticket.tell(ALONE)
            return await _alone(connection, mine)
        self.batches += 1
        self.grouped += len(batch)
        for ticket in others:
            ticket.tell(results[id(ticket)])
        return results[id(mine)]


class _Stage:
    committing = False


def _unknown() -> StorageUnavailable:
    return StorageUnavailable("the outcome of the commit is unknown")


def _unavailable() -> StorageUnavailable:
    return StorageUnavailable("the database is not available")


async def _in_one_transaction(
    connection: PoolConnectionProxy, batch: list[_Ticket], stage: _Stage
) -> dict[int, Rows] | None:
    """Every ticket's rows by `id(ticket)`; None when the server refused the batch, which
    then committed nothing."""
    results: dict[int, Rows] = {}
    transaction = connection.transaction()
    try:
        await transaction.start()
        for ticket in sorted(batch, key=lambda ticket: ticket.order):
            results[id(ticket)] = await connection.fetch(ticket.query, *ticket.args)
        stage.committing = True
        await transaction.commit()
    except asyncpg.PostgresError as exc:
        if isinstance(exc, UNAVAILABLE):
            raise
        if not stage.committing:
            await transaction.rollback()
        # Refused at commit (a deferred check) ends the transaction just the same.
        return None
    return results


async def _alone(connection: PoolConnectionProxy, ticket: _Ticket) -> Rows:
    # Never retried: the server may have committed it before the connection broke.
    with storage_errors():
        rows: Rows = await connection.fetch(ticket.query, *ticket.args)
    return rows
