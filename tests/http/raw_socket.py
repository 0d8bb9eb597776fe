"""A WebSocket client on a bare TCP stream, for tests of misbehaving peers.

Unlike aiohttp's client it reads nothing until asked, answers no ping, and keeps its
receive buffers small, so the server sees a peer that stopped reading.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import struct
from types import TracebackType
from typing import Self

TEXT = 0x1
CLOSE = 0x8
PING = 0x9


class RawWebSocket:
    """One client socket: a handshake, masked text frames out, frames in on demand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int, target: str, *, buffer: int = 4096) -> Self:
        """Connect to `ws://host:port<target>` with receive buffers of about `buffer` bytes."""
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connecting, so the window the server sees stays small.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
        raw.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(raw, (host, port))
        except OSError:
            raw.close()
            raise
        reader, writer = await asyncio.open_connection(sock=raw, limit=buffer)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        opened = cls(reader, writer)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        if not head.startswith(b"HTTP/1.1 101"):
            await opened.close()
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
        return opened

    async def send_text(self, text: str) -> None:
        """Send one masked text frame, as a client must."""
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x80 | TEXT])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[n % 4] for n, b in enumerate(payload))
        self._writer.write(header + mask + masked)
        await self._writer.drain()

    async def receive(self) -> tuple[int, bytes]:
        """The next frame from the server: (opcode, payload); (CLOSE, b"") at end of stream."""
        try:
            first, second = await self._reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self._reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self._reader.readexactly(8))
            return first & 0x0F, await self._reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return CLOSE, b""

    async def close(self) -> None:
        """Drop the connection without a goodbye."""
        self._writer.close()
        # The server may already have dropped its side.
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
