"""One open live socket: who it shows the room to, and what waits to be sent to it.

Each socket has its own pump: replies to commands go out in order, and of the views only
the newest waits, so a slow reader never holds the others back and the versions a client
sees only grow. A reader that lets replies pile up is closed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.wire import Memo, room_view
from agiletoolbox.domain.ids import RoomId
from agiletoolbox.domain.view import RoomView
from agiletoolbox.ports.presence import Seat

CLOSE_REMOVED = 4404
CLOSE_REFUSED = 4403
CLOSE_TOO_SLOW = 4408


class LiveSocket:
    """One open socket: who it is for, and what is waiting to be sent to it."""

    def __init__(self, ws: web.WebSocketResponse, caller: Caller, room_id: RoomId, limit: int):
        self.ws = ws
        self.caller = caller
        self.room_id = room_id
        self.version_sent = 0
        self._view: dict[str, Any] | None = None
        self._replies: deque[dict[str, Any]] = deque()
        self._limit = limit
        self._wake = asyncio.Event()
        self._closing: int | None = None

    @property
    def seat(self) -> Seat:
        """The person in the room this socket shows."""
        return (self.caller.tenant, self.room_id, self.caller.account)

    @property
    def version_known(self) -> int:
        """The newest version the client has or will get with what is queued."""
        queued = self._view["room"]["version"] if self._view else 0
        return max(queued, self.version_sent)

    def offer_view(self, view: RoomView, *, force: bool = False, memo: Memo | None = None) -> None:
        """Queue the newest view, replacing an older one not yet sent.

        A view no newer than what the client has or will get is dropped, unless the client
        asked for the current view (`force`). Views made together share a `memo`.
        """
        if not force and view.version <= self.version_known:
            return
        self._view = {"type": "room", "room": room_view(view, memo)}
        self._wake.set()

    def reply(self, message: dict[str, Any]) -> None:
        """Queue an answer to a command; a reader that lets them pile up is closed."""
        if len(self._replies) >= self._limit:
            self.close_soon(CLOSE_TOO_SLOW)
            return
        self._replies.append(message)
        self._wake.set()

    def close_soon(self, code: int) -> None:
        """Close the socket after what is queued (used for removals and slow readers)."""
        self._closing = code
        self._wake.set()

    async def pump(self) -> None:
        """Send what is queued, newest view last, until the socket closes."""
        while not self.ws.closed:
            await self._wake.wait()
            self._wake.clear()
            # A close asked for during this pass waits for the next one, which sends what
            # was queued with it (a removal's "removed" notice, say).
            closing = self._closing
            while self._replies and not self.ws.closed:
                await self._send(self._replies.popleft())
            view, self._view = self._view, None
            if view is not None and not self.ws.closed:
                self.version_sent = max(self.version_sent, view["room"]["version"])
                await self._send(view)
            if closing is not None:
                await self.ws.close(code=closing)

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send_frame(orjson.dumps(message), WSMsgType.TEXT)
