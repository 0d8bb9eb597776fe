"""A socket's messages, written to the connection as frames by `LiveSocket.deliver`: the
very bytes aiohttp's own writer sends, read back by a real client at every length's
boundary, and nothing written to a socket that is closed, going or behind."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from aiohttp import ClientSession, WSMsgType, web
from aiohttp._websocket.writer import WebSocketWriter
from aiohttp.test_utils import TestServer

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.live_socket import LiveSocket, text_frame
from tests.unit.roomkit import BEN, ROOM_ID, TENANT

# Each length's header is 7, 16 or 64 bits long (RFC 6455 §5.2): both sides of each edge.
SIZES = (0, 1, 125, 126, 127, 65535, 65536, 70_000)


def payload(size: int) -> bytes:
    return bytes(48 + n % 10 for n in range(size))


class _Transport(asyncio.Transport):
    """A connection that keeps what is written to it."""

    def __init__(self, *, unsent: int = 0, closing: bool = False) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.unsent = unsent
        self.closing = closing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def is_closing(self) -> bool:
        return self.closing


def socket_on(transport: _Transport, *, closed: bool = False) -> LiveSocket:
    ws = cast(web.WebSocketResponse, SimpleNamespace(closed=closed))
    return LiveSocket(ws, Caller(TENANT, BEN, None), ROOM_ID, limit=8, transport=transport)


async def test_each_message_is_written_as_the_frame_aiohttps_writer_makes() -> None:
    ours, theirs = _Transport(), _Transport()
    socket = socket_on(ours)
    writer = WebSocketWriter(cast(Any, SimpleNamespace(_paused=False)), theirs, limit=10**9)
    for size in SIZES:
        socket.show(payload(size), size + 1, whole=False)
        await writer.send_frame(payload(size), WSMsgType.TEXT)
    socket.reply({"type": "ack", "id": 1})
    await writer.send_frame(b'{"type":"ack","id":1}', WSMsgType.TEXT)
    socket.deliver()
    assert b"".join(ours.written) == b"".join(theirs.written)
    assert len(ours.written) == len(SIZES) + 1, "one write per message"
    assert socket.backlog == 0
    assert socket.version == SIZES[-1] + 1


def test_a_message_many_sockets_share_is_framed_once() -> None:
    message = b'{"type":"patch","from":1,"room":{"version":2}}'
    frame = text_frame(message)
    transports = [_Transport() for _ in range(3)]
    for transport in transports:
        socket_on(transport).show(message, 2, whole=False, frame=frame)
    assert all(transport.written == [frame] for transport in transports)
    assert all(transport.written[0] is frame for transport in transports), "not made again"


def test_what_waits_goes_first_and_in_order() -> None:
    transport = _Transport()
    socket = socket_on(transport)
    socket.reply({"type": "error", "id": 1})  # queued, not yet delivered
    socket.show(b'{"type":"patch"}', 2, whole=False)  # after it, so queued too
    assert transport.written == []
    socket.deliver()
    assert transport.written == [
        text_frame(b'{"type":"error","id":1}'),
        text_frame(b'{"type":"patch"}'),
    ]
    socket.show(b'{"type":"patch","n":3}', 3, whole=False)  # nothing waits: sent at once
    assert transport.written[-1] == text_frame(b'{"type":"patch","n":3}')
    assert (socket.backlog, socket.version) == (0, 3)


async def test_nothing_is_written_to_a_socket_closed_going_or_behind() -> None:
    for transport, closed in [
        (_Transport(), True),  # aiohttp has sent its close frame, or is about to
        (_Transport(closing=True), False),  # the connection is going
        (_Transport(unsent=1), False),  # the peer is behind: the pump sends, and waits
    ]:
        socket = socket_on(transport, closed=closed)
        socket.show(b'{"type":"patch"}', 2, whole=False)
        socket.deliver()
        assert transport.written == []
        assert socket.backlog == 1, "what was not sent is kept"


async def test_a_client_reads_every_frame_delivered_over_a_real_connection() -> None:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        socket = LiveSocket(
            ws, Caller(TENANT, BEN, None), ROOM_ID, limit=8, transport=request.transport
        )
        pump = asyncio.create_task(socket.pump())
        for version, size in enumerate(SIZES, start=1):
            socket.show(payload(size), version, whole=False)
            socket.deliver()  # sent at once, or by the pump once the client has read
        socket.reply({"type": "ack", "id": "last"})
        socket.deliver()
        async for _ in ws:
            pass
        pump.cancel()
        return ws

    app = web.Application()
    app.router.add_get("/live", handler)
    async with (
        TestServer(app) as server,
        ClientSession() as client,
        client.ws_connect(server.make_url("/live")) as ws,
    ):
        received = [await ws.receive(timeout=10) for _ in range(len(SIZES) + 1)]
        await ws.close()
    assert [m.type for m in received] == [WSMsgType.TEXT] * (len(SIZES) + 1)
    assert [len(m.data) for m in received[:-1]] == list(SIZES)
    assert [m.data.encode() for m in received[:-1]] == [payload(size) for size in SIZES]
    assert received[-1].json() == {"type": "ack", "id": "last"}
