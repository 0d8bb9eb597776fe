"""One open live socket: who it shows the room to, and what waits to be sent to it.

What is queued goes out in order, so answers and changes reach the client as they were
made and the versions it sees only grow. A peer that keeps up is sent to at once, by the
code that made the message (`show`, or `deliver` for answers; neither ever waits): each
message is written to the connection as one WebSocket text frame, made here (once for a
message many sockets share), and the kernel takes it. Once the kernel's buffer holds
unsent bytes, the socket's own pump takes over, sends through aiohttp and waits for the
peer, so a slow reader never holds the others back. A whole view supersedes the changes
still queued before it, so a slow reader's queue stays short; a reader that lets answers
pile up is closed.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.domain.config import Participant
from agiletoolbox.domain.ids import AccountId, RoomId
from agiletoolbox.ports.presence import Seat

CLOSE_REMOVED = 4404
CLOSE_REFUSED = 4403
CLOSE_TOO_SLOW = 4408

# A server's frame of one whole text message (RFC 6455 §5.2): FIN and the text opcode,
# then the payload's length in 7 bits, or 126 and 16 bits, or 127 and 64 bits; no mask
# and no extension (the sockets are opened without compression).
_TEXT = 0x81
_SHORT_HEADERS = tuple(bytes((_TEXT, size)) for size in range(126))
_HEADER_16 = struct.Struct("!BBH").pack
_HEADER_64 = struct.Struct("!BBQ").pack


def text_frame(payload: bytes) -> bytes:
    """`payload` as one WebSocket text frame, as a server sends it (made once for a
    message that many sockets are sent)."""
    size = len(payload)
    if size < 126:
        return _SHORT_HEADERS[size] + payload
    if size < 65536:
        return _HEADER_16(_TEXT, 126, size) + payload
    return _HEADER_64(_TEXT, 127, size) + payload


class LiveSocket:
    """One open socket: who it is for, and what is waiting to be sent to it."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        caller: Caller,
        room_id: RoomId,
        limit: int,
        transport: asyncio.Transport | None = None,
    ):
        self.ws = ws
        # The connection under the socket, written to while the peer keeps up (None: none
        # to write to, as for a stand-in: the pump sends everything).
        self._transport = transport
        self.caller = caller
        self.room_id = room_id
        self.seat: Seat = (caller.tenant, room_id, caller.account)
        """The person in the room this socket shows."""
        self.version = 0
        """The room's version the client has, or will have once what is queued is sent."""
        self.settled: Participant | None = None
        """The participant this socket's person was last found online as, with a lease of
        this process (nothing to do for their presence while the room holds that very
        object: participants are immutable, and are replaced when they change)."""
        self.settled_in: Mapping[AccountId, Participant] | None = None
        """The room's participants (a collection never changed in place) in which it was
        last found so: while a room shown holds that very collection, nothing to do."""
        self._out: deque[tuple[bytes, bool]] = deque()  # (frame, whether it shows the room)
        self._replies = 0
        self.backlog = 0
        """How many messages showing the room wait to be sent."""
        self._limit = limit
        self._wake = asyncio.Event()
        self._closing: int | None = None
        self._sending = False

    def show(
        self, message: bytes, version: int, *, whole: bool, frame: bytes | None = None
    ) -> None:
        """Send, or queue, a message that brings the client to `version`: its whole view
        (which makes the changes queued before it needless), or what changed since
        `version`. `frame` is the message as a frame, when it was made already (one
        message shared by many sockets is framed once)."""
        self.version = version
        out, transport = self._out, self._transport
        if (
            not out
            and not self._sending
            and self._closing is None
            and transport is not None
            and not transport.get_write_buffer_size()
            and not self.ws.closed  # nothing after aiohttp's close frame
            and not transport.is_closing()
        ):
            # Nothing waits before it and the peer keeps up: straight to the connection.
            transport.write(text_frame(message) if frame is None else frame)
            return
        if whole and self.backlog:
            self._out = out = deque(item for item in out if not item[1])
            self.backlog = 0
        out.append((message, True))
        self.backlog += 1
        self._wake.set()

    def reply(self, message: dict[str, Any]) -> None:
        """Queue an answer to a command; a reader that lets them pile up is closed."""
        if self._replies >= self._limit:
            self.close_soon(CLOSE_TOO_SLOW)
            return
        self._out.append((orjson.dumps(message), False))
        self._replies += 1

    def close_soon(self, code: int) -> None:
        """Close the socket after what is queued (used for removals and slow readers)."""
        self._closing = code
        self._wake.set()

    def deliver(self) -> None:
        """Send what is queued, now, when the peer keeps up (nothing of ours waits in the
        kernel's buffer); otherwise leave it to the pump. Never waits: each message is
        written to the connection as a frame, which the kernel takes or asyncio keeps."""
        transport, out = self._transport, self._out
        if not out:
            return
        if (
            self._sending
            or self._closing is not None
            or transport is None
            or transport.get_write_buffer_size()
        ):
            self._wake.set()
            return
        # Nothing after the close frame aiohttp sends (it marks the socket closed first),
        # nor to a connection that is going.
        if self.ws.closed or transport.is_closing():
            return
        write = transport.write
        while out:
            payload, change = out.popleft()
            if change:
                self.backlog -= 1
            else:
                self._replies -= 1
            write(text_frame(payload))

    async def pump(self) -> None:
        """Send what `show` and `deliver` left, in order, until the socket closes."""
        while not self.ws.closed:
            await self._wake.wait()
            self._wake.clear()
            # A close asked for during this pass waits for the next one, which sends what
            # was queued with it (a removal's "removed" notice, say).
            closing = self._closing
            self._sending = True
            try:
                await self._send_queued()
            finally:
                self._sending = False
            if closing is not None:
                await self.ws.close(code=closing)

    async def _send_queued(self) -> None:
        while self._out and not self.ws.closed:
            frame, change = self._out.popleft()
            if change:
                self.backlog -= 1
            else:
                self._replies -= 1
            await self.ws.send_frame(frame, WSMsgType.TEXT)
