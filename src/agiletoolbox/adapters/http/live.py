"""Live rooms: the sockets of this process, grouped by room, and what each is shown.

A change made in this process (a socket command or a REST call, both through `change`)
returns the committed room, which is shown to the sockets held here at once. A change
made elsewhere arrives as a signal from the event bus: the room is read (with every other
room waiting at that moment) and shown. What each socket is sent is made in
`live_views.py`; signals that bring nothing newer are dropped by version alone.

A process's changes to one room take turns here (first come, first served): racing each
other would only waste reads and writes on changes bound to be retried. A signal that
arrives while the room is being changed here is most likely that change's own, and waits
for the turn to end before it is looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from collections.abc import Set as AbstractSet

from aiohttp import WSCloseCode, WSMsgType, web
from attrs import define, field

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.commands import BY_OP
from agiletoolbox.adapters.http.limits import LIMITED, RateLimited, TokenBucket
from agiletoolbox.adapters.http.live_messages import (
    Empty,
    Sync,
    close_reason,
    decode,
    error_message,
    rate_limited,
    request_id_of,
)
from agiletoolbox.adapters.http.live_socket import CLOSE_REFUSED, LiveSocket
from agiletoolbox.adapters.http.live_timers import RoomKey, RoundTimers
from agiletoolbox.adapters.http.live_views import Answer, Shown, queue, removed, whole_view
from agiletoolbox.adapters.http.seats import Seats
from agiletoolbox.adapters.http.statuses import status_of
from agiletoolbox.adapters.http.web_settings import WebSettings
from agiletoolbox.adapters.http.wire import BodyError, structure
from agiletoolbox.domain.errors import DomainError, NotFound, quote
from agiletoolbox.domain.ids import RoomId
from agiletoolbox.domain.room import Room
from agiletoolbox.ports import ResyncAll, RoomChange, RoomEventBus, RoomSignal
from agiletoolbox.ports.presence import PresenceBoard, Seat
from agiletoolbox.services.rooms import RoomService

log = logging.getLogger("agiletoolbox.live")

REFRESH_BATCH = 100
"""The most rooms one read brings back to show."""
SOCKET_RETRY_SECONDS = 5.0
"""What a socket refused for a limit is told to wait."""


@define
class _Turn:
    """A room's changes in this process, taking turns, and the newest signal that came
    while one was under way."""

    lock: asyncio.Lock = field(factory=asyncio.Lock)
    writers: int = 0
    signalled: int = 0


@define
class _Held:
    """The sockets this process holds for one room, and what it last showed them."""

    sockets: set[LiveSocket] = field(factory=set)
    shown: Shown | None = None


_NONE: frozenset[LiveSocket] = frozenset()


@define
class _SeatTurn:
    """One person's arrivals and leavings in one room, in this process, taking turns."""

    lock: asyncio.Lock = field(factory=asyncio.Lock)
    users: int = 0


Reporter = Callable[[web.Request, BaseException], Awaitable[object]]
"""Stores a report of an unexpected error (the error middleware's, named for the request's
caller); a socket's failures cannot be answered as HTTP, so they are reported here."""


async def _log_only(request: web.Request, error: BaseException) -> None:
    log.error("unexpected %s on a live socket of %s", type(error).__name__, request.path)


class LiveRooms:
    """The sockets this process holds, grouped by room, fed by its changes and the bus."""

    def __init__(
        self,
        service: RoomService,
        bus: RoomEventBus,
        settings: WebSettings,
        presence: PresenceBoard,
        report: Reporter = _log_only,
    ) -> None:
        self._service = service
        self._report = report
        self._bus = bus
        self._settings = settings
        self._seats = Seats(presence)
        self._keeper: asyncio.Task[None] | None = None
        self._rooms: dict[RoomKey, _Held] = {}
        self._turns: dict[RoomKey, _Turn] = {}
        # Rooms whose sockets wait for a read, and the one task that reads them.
        self._stale: set[RoomKey] = set()
        self._reader: asyncio.Task[None] | None = None
        self._leases: set[asyncio.Task[None]] = set()
        self._arrivals: dict[Seat, asyncio.Task[None]] = {}
        self._seat_turns: dict[Seat, _SeatTurn] = {}
        self._open = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._timers = RoundTimers(self._time_up)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Listen to the event bus; keep this process's presence leases alive."""
        self._unsubscribe = self._bus.subscribe(self._on_signal)
        self._keeper = asyncio.get_running_loop().create_task(self._seats.keep(self._offline))

    async def close(self) -> None:
        """Stop listening and close every socket with 1001 (going away)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._keeper is not None:
            self._keeper.cancel()
        sockets = [socket for held in self._rooms.values() for socket in held.sockets]
        await asyncio.gather(
            *(s.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for s in sockets),
            return_exceptions=True,
        )
        for task in [self._reader, *self._leases]:
            if task is not None:
                task.cancel()
        self._timers.close()

    @property
    def socket_count(self) -> int:
        """How many sockets are open in this process."""
        return self._open

    async def _offline(self, seat: Seat) -> None:
        tenant, room_id, account = seat
        with contextlib.suppress(DomainError):
            await self.change(
                (tenant, room_id),
                lambda known: self._service.set_presence(tenant, account, room_id, False, known),
            )

    # -- changes made here ------------------------------------------------------------------

    async def change(
        self,
        key: RoomKey,
        run: Callable[[Room | None], Awaitable[Room]],
        answer: Answer | None = None,
    ) -> Room:
        """Run a use case that changes the room, in its turn, and show what it committed
        to the sockets held here; `answer` (a socket and a command id) gets its `ack`
        along with what it is shown. The use case is given the room as last shown here,
        if it was and no newer version was announced since, which spares it a read."""
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.writers += 1
        try:
            async with turn.lock:
                held = self._rooms.get(key)
                shown = None if held is None else held.shown
                known = shown.room if shown and shown.version >= turn.signalled else None
                room = await run(known)
                if held is None or not held.sockets:  # sockets may have come, or gone
                    held = self._rooms.get(key)
                self._show(held, room, answer)
                return room
        finally:
            turn.writers -= 1
            if not turn.writers:
                del self._turns[key]
                if turn.signalled and self._behind(key, turn.signalled):
                    self._refresh_soon(key)

    # -- showing ----------------------------------------------------------------------------

    def show(self, room: Room, answer: Answer | None = None) -> None:
        """Bring every socket held here for the room up to `room`; sockets that have that
        version already are left alone. `answer` (a socket and a command id) gets its
        `ack` on the message it is sent, or on its own when it is sent none."""
        self._show(self._rooms.get((room.tenant, room.id)), room, answer)

    def _show(self, held: _Held | None, room: Room, answer: Answer | None) -> None:
        """`show`, given the room's sockets held here (None: none)."""
        group = _NONE if held is None else held.sockets
        self._timers.watch(room, shown=bool(group))
        acked = False
        if held is not None and group:
            shown, acked = queue(held.sockets, held.shown, room, answer)
            if shown is not None:
                held.shown = shown
        if answer is not None and not acked:
            answer[0].reply({"type": "ack", "id": answer[1]})
            answer[0].deliver()
        # Each socket was sent its part as it was made (or it waits for its pump), and
        # nothing here waits: no other work runs until every socket held here has it.
        participants = room.participants
        for socket in group:
            if socket.settled_in is not participants:
                self._arrive_soon(socket, room)

    # -- the round's timer ---------------------------------------------------------------

    def _time_up(self, key: RoomKey, round_: int) -> None:
        """Round `round_`'s timer is due: end it, as a change of the room (see live_timers)."""
        tenant, room_id = key

        async def end() -> None:
            with contextlib.suppress(DomainError):
                await self.change(
                    key, lambda known: self._service.time_up(tenant, room_id, round_, known)
                )

        task = asyncio.get_running_loop().create_task(end())
        self._leases.add(task)
        task.add_done_callback(self._leases.discard)

    def _arrive_soon(self, socket: LiveSocket, room: Room) -> asyncio.Task[None] | None:
        """A socket held here shows `room`: if its person is a participant not yet online
        with a lease here, lease and mark them online (once at a time per seat)."""
        participants = room.participants
        if participants is socket.settled_in:
            return None  # the very participants it was settled in (nobody changed since)
        participant = participants.get(socket.caller.account)
        if participant is not None and participant is socket.settled:
            socket.settled_in = participants
            return None
        seat = socket.seat
        task = self._arrivals.get(seat)
        if task is None:
            if self._seats.wanted(seat, room):
                task = self._arrivals[seat] = asyncio.get_running_loop().create_task(
                    self._arrive(seat, room)
                )
                task.add_done_callback(lambda _: self._arrivals.pop(seat, None))
            else:
                socket.settled = participant
        return task

    # -- changes made elsewhere ---------------------------------------------------------------

    def _on_signal(self, signal: RoomSignal) -> None:
        if isinstance(signal, ResyncAll):
            for key in list(self._rooms):
                self._refresh_soon(key)
            return
        if not isinstance(signal, RoomChange):
            return  # a session's (live_sessions.py follows those)
        key = (signal.tenant, signal.room_id)
        if not self._behind(key, signal.version):
            return
        turn = self._turns.get(key)
        if turn is not None:
            # Most likely this turn's own change, which its sockets are about to be shown;
            # what it does not cover is read when the turn ends.
            turn.signalled = max(turn.signalled, signal.version)
        else:
            self._refresh_soon(key)

    def _behind(self, key: RoomKey, version: int) -> bool:
        # A loop, not `any` over a generator, which would be resumed once per socket: this
        # runs for every signal heard.
        for socket in self._sockets(key):  # noqa: SIM110 - see above
            if socket.version < version:
                return True
        return False

    def _sockets(self, key: RoomKey) -> AbstractSet[LiveSocket]:
        """The sockets this process holds for the room (none: an empty set)."""
        held = self._rooms.get(key)
        return _NONE if held is None else held.sockets

    def _refresh_soon(self, key: RoomKey) -> None:
        self._stale.add(key)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        """Read the stale rooms and show them, all those that wait in one read, until
        none waits: under load a read serves many rooms."""
        while self._stale:
            keys = [key for key in self._stale if key in self._rooms][:REFRESH_BATCH]
            self._stale.difference_update(keys)
            self._stale.intersection_update(self._rooms)
            if not keys:
                continue
            try:
                read = await self._service.get_many(keys)
            except Exception as error:  # noqa: BLE001 - the next signal tries again
                log.warning("could not refresh live rooms: %s", type(error).__name__)
                continue
            for key, room in read.items():
                self._show_read(key, room)

    def _show_read(self, key: RoomKey, room: Room | DomainError) -> None:
        group = self._sockets(key)
        if isinstance(room, NotFound):
            removed(group, None)
        elif isinstance(room, DomainError):
            for socket in list(group):
                socket.close_soon(CLOSE_REFUSED)
        else:
            self.show(room)

    # -- one socket -----------------------------------------------------------------------

    async def serve(
        self, request: web.Request, caller: Caller, room_id: RoomId
    ) -> web.StreamResponse:
        """Run one socket from handshake to close."""
        room = await self._service.get(caller.tenant, room_id)
        self._admit(caller, room_id)
        ws = web.WebSocketResponse(
            heartbeat=self._settings.socket_heartbeat(),
            max_msg_size=self._settings.max_socket_message_bytes,
            # Messages are small; permessage-deflate (which browsers offer) would keep a
            # zlib context of ~100 KB per socket and compress every message once per socket.
            compress=False,
        )
        await ws.prepare(request)
        socket = LiveSocket(
            ws, caller, room_id, self._settings.socket_queue_limit, transport=request.transport
        )
        key = (caller.tenant, room_id)
        held = self._rooms.get(key)
        if held is None:
            held = self._rooms[key] = _Held()
        held.sockets.add(socket)
        self._open += 1
        pump = asyncio.get_running_loop().create_task(socket.pump())
        try:
            self._whole(socket, room)
            self._timers.watch(room, shown=True)
            socket.deliver()
            arrival = self._arrive_soon(socket, room)
            if arrival is not None:
                await asyncio.shield(arrival)
            await self._read(request, socket)
        finally:
            self._open -= 1
            held.sockets.discard(socket)
            if not held.sockets and self._rooms.get(key) is held:
                del self._rooms[key]
                self._timers.forget(key)
            pump.cancel()
            try:
                await pump
            except asyncio.CancelledError:
                pass
            except Exception as error:  # noqa: BLE001 - presence is released regardless
                await self._report(request, error)
            if not self._holds(socket.seat):
                await asyncio.shield(self._leave(socket.seat))
        return ws

    def _admit(self, caller: Caller, room_id: RoomId) -> None:
        """Refuse a socket over the process's or the person's limit (before the upgrade,
        so the refusal is an HTTP 429)."""
        limits = self._settings.limits
        if self._open >= limits.sockets_per_process:
            raise RateLimited(
                "sockets_per_process", SOCKET_RETRY_SECONDS, "this server holds all it may"
            )
        group = self._sockets((caller.tenant, room_id))
        if sum(s.caller.account == caller.account for s in group) >= limits.sockets_per_person:
            raise RateLimited(
                "sockets_per_person",
                SOCKET_RETRY_SECONDS,
                f"at most {limits.sockets_per_person} live sockets per person in a room",
            )

    async def _read(self, request: web.Request, socket: LiveSocket) -> None:
        """Answer the socket's messages until it closes. Whatever goes wrong with one
        ends here: the socket is closed with 1011 and the error reported (with the
        caller's site), never answered as HTTP inside the socket's stream.

        Commands beyond the socket's rate are answered `error` 429 with `retryAfter`
        and not run; a socket that keeps sending them is closed with 1008."""
        ws, room_id = socket.ws, socket.room_id
        limits = self._settings.limits
        now = time.monotonic()
        bucket = TokenBucket(
            limits.commands_per_second, limits.command_burst, limits.command_burst, now
        )
        refused = 0
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    wait = bucket.take(time.monotonic())
                    if wait:
                        refused += 1
                        LIMITED.labels("commands_per_second").inc()
                        if refused >= limits.flood_close_after:
                            log.warning("closed a live socket of room %s: a flood", room_id)
                            await ws.close(
                                code=WSCloseCode.POLICY_VIOLATION, message=b"too many commands"
                            )
                            break
                        socket.reply(rate_limited(message.data, wait))
                    else:
                        refused = 0
                        await self._command(socket, message.data)
                    # The answer goes out before the next command is read: a command
                    # refused before any I/O never yields, and a burst of them would
                    # otherwise fill the reply queue of a client that reads promptly.
                    socket.deliver()
                elif message.type is WSMsgType.BINARY:
                    log.warning("closed a live socket of room %s: a binary message", room_id)
                    await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"text only")
                elif message.type is WSMsgType.ERROR:
                    # aiohttp has closed the socket (1009 for a message over the limit);
                    # the log says why, never what the message held.
                    log.warning(
                        "closed a live socket of room %s with %s: %s",
                        room_id,
                        getattr(message.data, "code", ws.close_code),
                        close_reason(message.data, self._settings.max_socket_message_bytes),
                    )
        except Exception as error:  # noqa: BLE001 - the socket's last line
            await self._report(request, error)
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")

    def _whole(self, socket: LiveSocket, room: Room, ack: object = None) -> None:
        """Send the socket its whole view of `room`."""
        socket.show(whole_view(socket, room, ack), room.version, whole=True)
        held = self._rooms.get((room.tenant, room.id))
        shown = None if held is None else held.shown
        if shown is not None and shown.version > room.version:
            self._refresh_soon((room.tenant, room.id))  # read before what others were shown

    async def _arrive(self, seat: Seat, room: Room) -> None:
        """A participant's socket is held here: lease them to this process and mark them
        online - unless their last socket closed meanwhile. Arrivals and leavings of one
        seat take turns, so the last socket's close always has the last word."""
        async with self._turn_of(seat):
            if not self._holds(seat) or not await self._seats.hold(seat, room):
                return
            # Always: the room this arrival was decided on may be older than a leaving
            # that has taken the person offline since (a domain no-op when online).
            with contextlib.suppress(DomainError, ConnectionError):
                await self._set_presence(seat, online=True)

    def _holds(self, seat: Seat) -> bool:
        """Whether a socket of the seat's person in its room is open here."""
        return any(s.seat == seat for s in self._sockets((seat[0], seat[1])))

    async def _leave(self, seat: Seat) -> None:
        """This process's last socket of the person closed: offline, unless another
        process still holds one, or a new socket of theirs opened here meanwhile."""
        async with self._turn_of(seat):
            if self._holds(seat):
                return
            if await self._seats.release(seat):
                with contextlib.suppress(DomainError, ConnectionError):
                    await self._set_presence(seat, online=False)

    @contextlib.asynccontextmanager
    async def _turn_of(self, seat: Seat) -> AsyncIterator[None]:
        """The seat's lock for arrivals and leavings (dropped once nobody waits on it)."""
        turn = self._seat_turns.get(seat)
        if turn is None:
            turn = self._seat_turns[seat] = _SeatTurn()
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if not turn.users:
                self._seat_turns.pop(seat, None)

    async def _set_presence(self, seat: Seat, *, online: bool) -> None:
        tenant, room_id, account = seat
        await self.change(
            (tenant, room_id),
            lambda known: self._service.set_presence(tenant, account, room_id, online, known),
        )

    async def _command(self, socket: LiveSocket, text: str) -> None:
        request_id: object = None
        try:
            message = decode(text)
            request_id = request_id_of(message.pop("id", None))
            op = message.pop("op", None)
            if op == "sync":
                structure(message, Sync)
                room = await self._service.get(socket.caller.tenant, socket.room_id)
                self._whole(socket, room, ack=request_id)
                return
            command = BY_OP.get(op) if isinstance(op, str) else None
            if command is None:
                raise BodyError([f"unknown op {quote(op)} @ message.op"])
            body = structure(message, command.body or Empty)
            c = socket.caller
            await self.change(
                (c.tenant, socket.room_id),
                lambda known: command.run(self._service, c, socket.room_id, body, known),
                answer=(socket, request_id),
            )
        except ValueError as error:
            details = error.details if isinstance(error, BodyError) else ["not JSON @ message"]
            socket.reply(error_message(request_id, 422, "invalid_command", "; ".join(details)))
        except DomainError as error:
            socket.reply(error_message(request_id, status_of(error), error.code, error.message))
        except ConnectionError:
            socket.reply(error_message(request_id, 503, "unavailable", "try again in a moment"))
