"""Live session pages: the sockets that follow a refinement session, and what each is sent.

A session's page shows its queue and current issue; the current issue's room has a socket
of its own (`live.py`). This socket follows the session only: when it opens it is sent the
session's view, and again whenever the event bus says the session moved past what it was
shown, whichever process changed it (the owner's REST calls come back as signals like any
other change). It takes one command, `sync` (send the whole view again). A reader that falls
behind is only ever sent the newest view: older ones waiting for it are dropped.

A vote never changes a session, but it changes the counts its view shows (who voted, an
async session's progress): a change of a room in a watched session's queue sends that
session's view again, once per `ROOM_COUNTS_SECONDS` at most however many votes came.

The view is the session's with its rooms' counts and without the current room: that room's
state, masked for each person, travels on its own socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from attrs import evolve

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.limits import LIMITED, RateLimited, TokenBucket
from agiletoolbox.adapters.http.live_messages import decode, error_message, request_id_of
from agiletoolbox.adapters.http.live_socket import CLOSE_REFUSED, CLOSE_REMOVED
from agiletoolbox.adapters.http.web_settings import WebSettings
from agiletoolbox.adapters.http.wire import BodyError, unstructure
from agiletoolbox.domain.errors import DomainError, NotFound
from agiletoolbox.domain.ids import AccountId, RoomId, SessionId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.session import RefinementSession
from agiletoolbox.domain.session_view import SessionView, session_view
from agiletoolbox.ports import ResyncAll, RoomChange, RoomEventBus, RoomSignal, SessionChange
from agiletoolbox.services.rooms import RoomService
from agiletoolbox.services.sessions import SessionService

log = logging.getLogger("agiletoolbox.live")

SessionKey = tuple[TenantKey, SessionId]
SOCKET_RETRY_SECONDS = 5.0
ROOM_COUNTS_SECONDS = 0.5
"""How long room changes gather before a session's counts are sent again."""


async def rooms_of(rooms: RoomService, session: RefinementSession) -> dict[RoomId, Room]:
    """The rooms of the session's queue that exist, in one read."""
    keys = [(session.tenant, e.room_id) for e in session.queue if e.room_id is not None]
    read = await rooms.get_many(keys) if keys else {}
    return {key[1]: room for key, room in read.items() if not isinstance(room, DomainError)}


async def view_with_rooms(
    rooms: RoomService, session: RefinementSession, viewer: AccountId
) -> SessionView:
    """The session's view for `viewer`, with the counts of its issues' rooms."""
    return session_view(session, await rooms_of(rooms, session), viewer)


class _Watcher:
    """One open session socket: who it is for, the version it was shown, and the newest
    message waiting to be sent to it."""

    def __init__(self, ws: web.WebSocketResponse, caller: Caller) -> None:
        self.ws = ws
        self.caller = caller
        self.version = 0
        self._next: bytes | None = None
        self._closing: int | None = None
        self._wake = asyncio.Event()

    def show(self, frame: bytes, version: int) -> None:
        self._next = frame
        self.version = version
        self._wake.set()

    def close_soon(self, code: int, frame: bytes | None = None) -> None:
        if frame is not None:
            self._next = frame
        self._closing = code
        self._wake.set()

    async def pump(self) -> None:
        while not self.ws.closed:
            await self._wake.wait()
            self._wake.clear()
            frame, self._next = self._next, None
            closing = self._closing
            if frame is not None:
                await self.ws.send_frame(frame, WSMsgType.TEXT)
            if closing is not None:
                await self.ws.close(code=closing)


Reporter = Callable[[web.Request, BaseException], Awaitable[object]]


async def _log_only(request: web.Request, error: BaseException) -> None:
    log.error("unexpected %s on a live session socket of %s", type(error).__name__, request.path)


class LiveSessions:
    """The session sockets this process holds, grouped by session, fed by the bus."""

    def __init__(
        self,
        sessions: SessionService,
        rooms: RoomService,
        bus: RoomEventBus,
        settings: WebSettings,
        report: Reporter = _log_only,
    ) -> None:
        self._sessions = sessions
        self._rooms = rooms
        self._bus = bus
        self._settings = settings
        self._report = report
        self._groups: dict[SessionKey, set[_Watcher]] = {}
        self._stale: set[SessionKey] = set()
        self._recounted: set[SessionKey] = set()
        self._room_sessions: dict[tuple[TenantKey, RoomId], set[SessionKey]] = {}
        self._session_rooms: dict[SessionKey, frozenset[RoomId]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Listen to the event bus."""
        self._unsubscribe = self._bus.subscribe(self._on_signal)

    async def close(self) -> None:
        """Stop listening and close every socket with 1001 (going away)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        watchers = [w for group in self._groups.values() for w in group]
        await asyncio.gather(
            *(
                w.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                for w in watchers
            ),
            return_exceptions=True,
        )
        if self._reader is not None:
            self._reader.cancel()

    @property
    def socket_count(self) -> int:
        """How many session sockets are open in this process."""
        return sum(len(group) for group in self._groups.values())

    # -- signals ----------------------------------------------------------------------------

    def _on_signal(self, signal: RoomSignal) -> None:
        if isinstance(signal, ResyncAll):
            for key in list(self._groups):
                self._refresh_soon(key)
        elif isinstance(signal, SessionChange):
            key = (signal.tenant, signal.session_id)
            group = self._groups.get(key)
            if group and any(w.version < signal.version for w in group):
                self._refresh_soon(key)
        elif isinstance(signal, RoomChange):
            for key in self._room_sessions.get((signal.tenant, signal.room_id), ()):
                if key not in self._recounted and key in self._groups:
                    self._recounted.add(key)
                    asyncio.get_running_loop().call_later(
                        ROOM_COUNTS_SECONDS, self._refresh_soon, key
                    )

    def _watch_rooms(self, key: SessionKey, session: RefinementSession) -> None:
        """Remember which rooms the session's queue holds (their changes move its counts)."""
        rooms = frozenset(e.room_id for e in session.queue if e.room_id is not None)
        if self._session_rooms.get(key) == rooms:
            return
        self._forget_rooms(key)
        self._session_rooms[key] = rooms
        for room_id in rooms:
            self._room_sessions.setdefault((key[0], room_id), set()).add(key)

    def _forget_rooms(self, key: SessionKey) -> None:
        for room_id in self._session_rooms.pop(key, ()):
            held = self._room_sessions.get((key[0], room_id))
            if held is not None:
                held.discard(key)
                if not held:
                    del self._room_sessions[(key[0], room_id)]

    def _refresh_soon(self, key: SessionKey) -> None:
        self._stale.add(key)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        """Read each stale session and show it, until none waits."""
        while self._stale:
            key = self._stale.pop()
            recount = key in self._recounted
            self._recounted.discard(key)
            group = self._groups.get(key)
            if not group:
                continue
            try:
                session = await self._sessions.get(*key)
            except NotFound:
                for watcher in list(group):
                    watcher.close_soon(CLOSE_REMOVED, orjson.dumps({"type": "removed"}))
                continue
            except DomainError:
                for watcher in list(group):
                    watcher.close_soon(CLOSE_REFUSED)
                continue
            except Exception as error:  # noqa: BLE001 - the next signal tries again
                log.warning("could not refresh a live session: %s", type(error).__name__)
                continue
            self._watch_rooms(key, session)
            behind = [w for w in group if recount or w.version < session.version]
            if behind:
                rooms = await rooms_of(self._rooms, session)  # one read for every socket
                for watcher in behind:
                    self._show_with(watcher, session, rooms)

    async def _show(self, watcher: _Watcher, session: RefinementSession) -> None:
        self._watch_rooms((session.tenant, session.id), session)
        self._show_with(watcher, session, await rooms_of(self._rooms, session))

    @staticmethod
    def _show_with(
        watcher: _Watcher, session: RefinementSession, rooms: dict[RoomId, Room]
    ) -> None:
        view = session_view(session, rooms, watcher.caller.account)
        message = {"type": "session", "session": unstructure(evolve(view, room=None))}
        watcher.show(orjson.dumps(message), session.version)

    # -- one socket -----------------------------------------------------------------------

    async def serve(
        self, request: web.Request, caller: Caller, session_id: SessionId
    ) -> web.StreamResponse:
        """Run one session socket from handshake to close."""
        session = await self._sessions.get(caller.tenant, session_id)
        key = (caller.tenant, session_id)
        self._admit(caller, key)
        ws = web.WebSocketResponse(
            heartbeat=self._settings.socket_heartbeat(),
            max_msg_size=self._settings.max_socket_message_bytes,
            compress=False,
        )
        await ws.prepare(request)
        watcher = _Watcher(ws, caller)
        self._groups.setdefault(key, set()).add(watcher)
        pump = asyncio.get_running_loop().create_task(watcher.pump())
        try:
            await self._show(watcher, session)
            await self._read(request, watcher, key)
        finally:
            group = self._groups.get(key, set())
            group.discard(watcher)
            if not group:
                self._groups.pop(key, None)
                self._forget_rooms(key)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await pump
        return ws

    def _admit(self, caller: Caller, key: SessionKey) -> None:
        """Refuse a socket over the person's limit (before the upgrade: an HTTP 429)."""
        limit = self._settings.limits.sockets_per_person
        group = self._groups.get(key, ())
        if sum(w.caller.account == caller.account for w in group) >= limit:
            raise RateLimited(
                "sockets_per_person",
                SOCKET_RETRY_SECONDS,
                f"at most {limit} live sockets per person in a session",
            )

    async def _read(self, request: web.Request, watcher: _Watcher, key: SessionKey) -> None:
        """Answer `sync` with the whole view; refuse anything else. Commands beyond the
        socket's rate are answered 429 and, when they keep coming, the socket is closed."""
        ws, limits = watcher.ws, self._settings.limits
        bucket = TokenBucket(
            limits.commands_per_second, limits.command_burst, limits.command_burst, time.monotonic()
        )
        refused = 0
        try:
            async for message in ws:
                if message.type is WSMsgType.BINARY:
                    await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"text only")
                if message.type is not WSMsgType.TEXT:
                    continue
                wait = bucket.take(time.monotonic())
                if wait:
                    refused += 1
                    LIMITED.labels("commands_per_second").inc()
                    if refused >= limits.flood_close_after:
                        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"flood")
                    continue
                refused = 0
                await self._command(watcher, key, message.data)
        except Exception as error:  # noqa: BLE001 - the socket's last line
            await self._report(request, error)
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")

    async def _command(self, watcher: _Watcher, key: SessionKey, text: str) -> None:
        request_id: object = None
        try:
            message = decode(text)
            request_id = request_id_of(message.pop("id", None))
            if message != {"op": "sync"}:
                raise BodyError(['a session socket takes only {"op": "sync"} @ message'])
        except ValueError as error:
            details = error.details if isinstance(error, BodyError) else ["not JSON @ message"]
            frame = orjson.dumps(
                error_message(request_id, 422, "invalid_command", "; ".join(details))
            )
            await watcher.ws.send_frame(frame, WSMsgType.TEXT)
            return
        try:
            session = await self._sessions.get(*key)
        except DomainError as error:
            watcher.close_soon(CLOSE_REMOVED if isinstance(error, NotFound) else CLOSE_REFUSED)
            return
        await self._show(watcher, session)
