"""Live rooms: one socket per open room page, one masked view per recipient.

Every process subscribes to the room event bus. When a room it holds sockets for reaches
a new version elsewhere, it reads the room once, renders each recipient's own view and
queues it on that socket (see `live_socket.py`); a change made in this process reaches
its sockets from the saved room, without a read. Socket commands run the room use cases
and are answered with `ack` or `error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from attrs import define

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.live_socket import CLOSE_REFUSED, CLOSE_REMOVED, LiveSocket
from agiletoolbox.adapters.http.seats import Seats, takes_part
from agiletoolbox.adapters.http.statuses import status_of
from agiletoolbox.adapters.http.web_settings import WebSettings
from agiletoolbox.adapters.http.wire import (
    BodyError,
    ConfigBody,
    EstimateBody,
    JoinBody,
    Memo,
    VoteBody,
    estimate_text,
    room_config,
    structure,
)
from agiletoolbox.domain.config import Role
from agiletoolbox.domain.errors import AccessRefused, DomainError, NotFound
from agiletoolbox.domain.ids import AccountId, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.view import RoomView, views_of
from agiletoolbox.ports import ResyncAll, RoomEventBus, RoomSignal
from agiletoolbox.ports.presence import PresenceBoard, Seat
from agiletoolbox.services.rooms import RoomService

log = logging.getLogger("agiletoolbox.live")

RoomKey = tuple[TenantKey, RoomId]
Command = Callable[["LiveSocket", dict[str, Any]], Awaitable[RoomView | None]]


class LiveRooms:
    """The sockets this process holds, grouped by room, fed from the event bus."""

    def __init__(
        self,
        service: RoomService,
        bus: RoomEventBus,
        settings: WebSettings,
        presence: PresenceBoard,
    ) -> None:
        self._service = service
        self._bus = bus
        self._settings = settings
        self._seats = Seats(presence)
        self._keeper: asyncio.Task[None] | None = None
        self._rooms: dict[RoomKey, set[LiveSocket]] = {}
        self._running: dict[RoomKey, asyncio.Task[None]] = {}
        self._dirty: set[RoomKey] = set()
        # Signals of rooms this process was writing when they came: the newest version.
        self._deferred: dict[RoomKey, int] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._stop_commits: Callable[[], None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Listen to the event bus; keep this process's presence leases alive."""
        self._unsubscribe = self._bus.subscribe(self._on_signal)
        self._stop_commits = self._service.observe(self)
        self._keeper = asyncio.get_running_loop().create_task(self._seats.keep(self._offline))

    async def close(self) -> None:
        """Stop listening and close every socket with 1001 (going away)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._stop_commits is not None:
            self._stop_commits()
            self._stop_commits = None
        if self._keeper is not None:
            self._keeper.cancel()
        sockets = [socket for group in self._rooms.values() for socket in group]
        await asyncio.gather(
            *(s.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for s in sockets),
            return_exceptions=True,
        )
        for task in list(self._running.values()):
            task.cancel()

    @property
    def socket_count(self) -> int:
        """How many sockets are open in this process."""
        return sum(len(group) for group in self._rooms.values())

    async def _offline(self, seat: Seat) -> None:
        tenant, room_id, account = seat
        with contextlib.suppress(DomainError):
            await self._service.set_presence(tenant, account, room_id, False)

    # -- signals --------------------------------------------------------------------------

    def _on_signal(self, signal: RoomSignal) -> None:
        if isinstance(signal, ResyncAll):
            for key in list(self._rooms):
                self._refresh_soon(key)
            return
        key = (signal.tenant, signal.room_id)
        if not self._behind(key, signal.version):
            return
        if self._service.writing(*key):
            # Most likely the signal of a change this process is making, which reaches
            # the sockets from the saved room (`committed`); if not, `settled` reads it.
            self._deferred[key] = max(signal.version, self._deferred.get(key, 0))
        else:
            self._refresh_soon(key)

    def _behind(self, key: RoomKey, version: int) -> bool:
        group = self._rooms.get(key)
        return group is not None and any(s.version_known < version for s in group)

    def settled(self, tenant: TenantKey, room_id: RoomId) -> None:
        """This process stopped writing the room: a signal it put off and that its own
        changes did not cover is read now."""
        key = (tenant, room_id)
        version = self._deferred.pop(key, None)
        if version is not None and self._behind(key, version):
            self._refresh_soon(key)

    def committed(self, room: Room) -> None:
        """A change made in this process: its sockets get their views from the saved room
        at once, and the change's own signal, when it comes back, finds nothing new."""
        key = (room.tenant, room.id)
        if self._deferred.get(key, room.version + 1) <= room.version:
            del self._deferred[key]
        group = self._rooms.get(key)
        if not group:
            return
        seats_missing = False
        views = views_of(room, {socket.caller.account for socket in group})
        memo: Memo = {}
        for socket in list(group):
            view = views[socket.caller.account]
            socket.offer_view(view, memo=memo)
            seats_missing |= self._seats.wanted(socket.seat, view)
        if seats_missing:
            self._refresh_soon(key)  # the refresh takes the presence lease

    def _refresh_soon(self, key: RoomKey) -> None:
        if key in self._running:
            self._dirty.add(key)
            return
        self._running[key] = asyncio.get_running_loop().create_task(self._refresh(key))

    async def _refresh(self, key: RoomKey) -> None:
        try:
            await self._refresh_until_clean(key)
        finally:
            # Left in the same step as the last dirty check: a signal arriving later
            # starts a new refresh instead of marking a finished one dirty.
            self._running.pop(key, None)

    async def _refresh_until_clean(self, key: RoomKey) -> None:
        while True:
            self._dirty.discard(key)
            group = self._rooms.get(key)
            if not group:
                return
            try:
                views = await self._service.views(key[0], key[1], {s.caller.account for s in group})
            except NotFound:
                for socket in list(group):
                    socket.reply({"type": "removed"})
                    socket.close_soon(CLOSE_REMOVED)
                return
            except AccessRefused:
                for socket in list(group):
                    socket.close_soon(CLOSE_REFUSED)
                return
            except Exception as error:  # noqa: BLE001 - the next signal tries again
                log.warning("could not refresh a live room: %s", type(error).__name__)
                return
            memo: Memo = {}
            for socket in list(group):
                view = views[socket.caller.account]
                socket.offer_view(view, memo=memo)
                await self._seats.hold(socket.seat, view)
            if key not in self._dirty:
                return

    # -- one socket -----------------------------------------------------------------------

    async def serve(
        self, request: web.Request, caller: Caller, room_id: RoomId
    ) -> web.StreamResponse:
        """Run one socket from handshake to close."""
        view = await self._service.view(caller.tenant, caller.account, room_id)
        ws = web.WebSocketResponse(
            heartbeat=self._settings.heartbeat_seconds,
            max_msg_size=self._settings.max_socket_message_bytes,
            # Views are a few KB; permessage-deflate (which browsers offer) would keep a
            # zlib context of ~100 KB per socket and compress every view once per socket.
            compress=False,
        )
        await ws.prepare(request)
        socket = LiveSocket(ws, caller, room_id, self._settings.socket_queue_limit)
        key = (caller.tenant, room_id)
        self._rooms.setdefault(key, set()).add(socket)
        pump = asyncio.get_running_loop().create_task(socket.pump())
        try:
            socket.offer_view(view)
            await self._presence(socket, online=True)
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._command(socket, message.data)
                    # Let the pump send the answer before the next command: a command
                    # refused before any I/O never yields, and a burst of them would
                    # otherwise fill the reply queue of a client that reads promptly.
                    await asyncio.sleep(0)
                elif message.type is WSMsgType.BINARY:
                    await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"text only")
        finally:
            group = self._rooms.get(key, set())
            group.discard(socket)
            if not group:
                self._rooms.pop(key, None)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            if not any(s.caller.account == caller.account for s in group):
                await asyncio.shield(self._leave(socket))
        return ws

    async def _presence(self, socket: LiveSocket, *, online: bool) -> None:
        caller = socket.caller
        with contextlib.suppress(DomainError):
            view = await self._service.view(caller.tenant, caller.account, socket.room_id)
            if takes_part(view, caller.account):
                if online:
                    await self._seats.hold(socket.seat, view)
                await self._service.set_presence(
                    caller.tenant, caller.account, socket.room_id, online
                )

    async def _leave(self, socket: LiveSocket) -> None:
        """This process's last socket of the person closed: offline, unless another
        process still holds one."""
        if await self._seats.release(socket.seat):
            await self._presence(socket, online=False)

    async def _command(self, socket: LiveSocket, text: str) -> None:
        request_id: object = None
        try:
            message = json.loads(text)
            if not isinstance(message, dict):
                raise BodyError(["a command is a JSON object @ message"])
            request_id = message.pop("id", None)
            op = message.pop("op", None)
            action = self._commands().get(op) if isinstance(op, str) else None
            if action is None:
                raise BodyError([f"unknown op {op!r} @ message.op"])
            view = await action(socket, message)
        except ValueError as error:
            details = error.details if isinstance(error, BodyError) else ["not JSON @ message"]
            socket.reply(_error(request_id, 422, "invalid_command", "; ".join(details)))
            return
        except DomainError as error:
            socket.reply(_error(request_id, status_of(error), error.code, error.message))
            return
        socket.reply({"type": "ack", "id": request_id})
        if view is not None:
            socket.offer_view(view)

    def _commands(self) -> dict[str, Command]:
        service = self._service

        def simple(method: Callable[[TenantKey, AccountId, RoomId], Awaitable[RoomView]]) -> Any:
            async def run(socket: LiveSocket, body: dict[str, Any]) -> RoomView:
                structure(body, _Empty)
                return await method(socket.caller.tenant, socket.caller.account, socket.room_id)

            return run

        async def vote(socket: LiveSocket, body: dict[str, Any]) -> RoomView:
            card = structure(body, VoteBody).card
            c = socket.caller
            return await service.vote(c.tenant, c.account, socket.room_id, card)

        async def join(socket: LiveSocket, body: dict[str, Any]) -> RoomView:
            role = Role(structure(body, JoinBody).role)
            c = socket.caller
            return await service.join(c.tenant, c.account, socket.room_id, role)

        async def estimate(socket: LiveSocket, body: dict[str, Any]) -> RoomView:
            value = estimate_text(structure(body, EstimateBody))
            c = socket.caller
            return await service.accept_estimate(c.tenant, c.account, socket.room_id, value)

        async def configure(socket: LiveSocket, body: dict[str, Any]) -> RoomView:
            config = structure(body, ConfigBody)
            c = socket.caller
            return await service.configure(
                c.tenant, c.account, socket.room_id, lambda current: room_config(config, current)
            )

        async def remove(socket: LiveSocket, body: dict[str, Any]) -> None:
            structure(body, _Empty)
            c = socket.caller
            await service.remove(c.tenant, c.account, socket.room_id)

        async def sync(socket: LiveSocket, body: dict[str, Any]) -> None:
            structure(body, _Sync)
            c = socket.caller
            socket.offer_view(await service.view(c.tenant, c.account, socket.room_id), force=True)

        return {
            "vote": vote,
            "withdraw": simple(service.withdraw),
            "join": join,
            "leave": simple(service.leave),
            "reveal": simple(service.reveal),
            "reset": simple(service.reset),
            "take-control": simple(service.take_control),
            "estimate": estimate,
            "configure": configure,
            "remove": remove,
            "sync": sync,
        }


def _error(request_id: object, status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "id": request_id,
        "error": {"status": status, "code": code, "message": message},
    }


@define
class _Empty:
    """A command without arguments."""


@define
class _Sync:
    """`{"op": "sync", "version": n}`: the client's last version (it gets the current view)."""

    version: int = 0
