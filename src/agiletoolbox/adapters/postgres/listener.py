"""The event bus over PostgreSQL LISTEN/NOTIFY.

Writers NOTIFY inside the transaction that changes a room or a session (see `rooms.py` and
`sessions.py`), so `publish` has nothing left to do. Each process keeps one dedicated
connection (never a pooled one: a pooled connection loses its LISTEN on release) that
listens on one channel, probes it with a cheap query, and on loss reconnects with
exponential backoff. PostgreSQL never replays what a listener missed, so after every
reconnect subscribers get `ResyncAll` and re-read the rooms and sessions they hold.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from functools import lru_cache
from types import TracebackType
from typing import Self

import asyncpg
import orjson

from agiletoolbox.adapters.postgres.errors import StorageUnavailable
from agiletoolbox.adapters.postgres.room_sql import CHANNEL
from agiletoolbox.adapters.postgres.session import RELEASE_ERRORS
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import RoomId, SessionId, TenantKey
from agiletoolbox.ports.events import Published, ResyncAll, RoomChange, RoomSignal, SessionChange

APPLICATION_NAME = "agiletoolbox-listener"
"""How the listener's connection shows in `pg_stat_activity`."""

_log = logging.getLogger(__name__)
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (*RELEASE_ERRORS, StorageUnavailable)

Handler = Callable[[RoomSignal], None]


def parse_signal(payload: str) -> RoomChange | SessionChange | None:
    """The room or session change a notification announces (`r` names a room, `s` a
    session); None for a payload that is not one."""
    try:
        message = orjson.loads(payload)
        tenant, version = message["t"], message["v"]
        if not isinstance(version, int) or isinstance(version, bool):
            return None
        if "s" in message:
            return SessionChange(TenantKey(tenant), SessionId(message["s"]), version)
        tenant_key, room_id = _room_key(tenant, message["r"])
        return RoomChange(tenant_key, room_id, version)
    except (ValueError, TypeError, KeyError, InvalidValue):
        return None


@lru_cache(maxsize=4096)
def _room_key(tenant: str, room_id: str) -> tuple[TenantKey, RoomId]:
    """A room's ids, checked once per room (every change of a room is signalled, and the
    rooms changing at any moment are few): the same objects each time, their hashes kept.
    It halves what hearing a notification costs (`benchmarks/memos.py`: 1.79 against
    3.56 us), some 1.5% of a vote's server CPU."""
    return TenantKey(tenant), RoomId(room_id)


class PostgresEventBus:
    """Delivers every committed room change, from any process, to this process's subscribers."""

    def __init__(
        self,
        dsn: str,
        *,
        channel: str = CHANNEL,
        probe_interval: float = 5.0,
        probe_timeout: float = 2.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 10.0,
        start_timeout: float = 15.0,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._probe_interval = probe_interval
        self._probe_timeout = probe_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._start_timeout = start_timeout
        self._handlers: list[Handler] = []
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._lost = asyncio.Event()
        self.connections = 0
        """How many times the listener connected (1 + the reconnects)."""

    # -- the port ----------------------------------------------------------------------

    async def publish(self, events: Sequence[Published]) -> None:
        """Nothing to do: the transaction that stored the events already notified."""

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call `handler` for every signal; returns the function that unsubscribes."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        """Whether the listener is connected and listening right now."""
        return self._listening.is_set()

    async def start(self) -> None:
        """Connect and listen; `StorageUnavailable` when that fails for `start_timeout`."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name="agiletoolbox-listener")
        try:
            async with asyncio.timeout(self._start_timeout):
                await self._listening.wait()
        except TimeoutError:
            await self.close()
            raise StorageUnavailable("the room event listener could not connect") from None

    async def close(self) -> None:
        """Stop listening and close the connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def wait_listening(self) -> None:
        """Return once the listener is (again) connected and listening."""
        await self._listening.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- internals ---------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff_initial
        while True:
            connection = await self._connect()
            if connection is not None:
                try:
                    await connection.add_listener(self._channel, self._on_notification)
                    self.connections += 1
                    delay = self._backoff_initial
                    self._listening.set()
                    if self.connections > 1:
                        # Listening again before resyncing: nothing falls between the two.
                        self._deliver(ResyncAll())
                    await self._watch(connection)
                except _CONNECTION_ERRORS as exc:
                    _log.warning("room event listener lost its connection: %s", type(exc).__name__)
                finally:
                    self._listening.clear()
                    await self._discard(connection)
            # Jitter spreads the reconnects of many processes after a database restart.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - not crypto
            delay = min(delay * 2, self._backoff_max)

    async def _connect(self) -> asyncpg.Connection | None:
        self._lost.clear()
        try:
            async with asyncio.timeout(self._probe_interval + self._probe_timeout):
                connection = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": APPLICATION_NAME}
                )
        except _CONNECTION_ERRORS as exc:
            _log.warning("room event listener cannot connect: %s", type(exc).__name__)
            return None
        connection.add_termination_listener(lambda _connection: self._lost.set())
        return connection

    async def _watch(self, connection: asyncpg.Connection) -> None:
        """Return when the connection is lost; probe it between notifications."""
        while True:
            with suppress(TimeoutError):
                async with asyncio.timeout(self._probe_interval):
                    await self._lost.wait()
                    return
            # asyncpg has no keepalive knobs: a cheap query with a deadline finds a dead peer.
            async with asyncio.timeout(self._probe_timeout):
                await connection.fetchval("SELECT 1")

    async def _discard(self, connection: asyncpg.Connection) -> None:
        if connection.is_closed():
            return
        try:
            async with asyncio.timeout(self._probe_timeout):
                await connection.close()
        except _CONNECTION_ERRORS:
            # A peer that does not answer the goodbye gets no second chance.
            connection.terminate()

    def _on_notification(
        self, _connection: object, _pid: int, _channel: str, payload: object
    ) -> None:
        signal = parse_signal(payload) if isinstance(payload, str) else None
        if signal is None:
            _log.warning("ignored a room notification that is not a room change")
            return
        self._deliver(signal)

    def _deliver(self, signal: RoomSignal) -> None:
        for handler in list(self._handlers):
            try:
                handler(signal)
            except Exception as error:  # noqa: BLE001 - isolate subscribers from each other
                # One failing subscriber must not silence the others or the listener.
                _log.error("a room signal subscriber failed: %s", type(error).__name__)


async def event_bus_resource(dsn: str) -> AsyncIterator[PostgresEventBus]:
    """The listener as a lifecycle resource (an async generator, for a `Resource` provider)."""
    bus = PostgresEventBus(dsn)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()
