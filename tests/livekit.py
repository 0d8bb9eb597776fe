"""Reading a live socket as the page does: whole views, patches applied, acks by id.

The server sends a whole view on connect and on `sync`, then what changed since a version
(`patch`), and may carry a command's `ack` on the message that shows its change. Tests read
the socket through `LiveReader`, which turns that into a plain sequence: an `ack` message
for every answered command, then a `room` message with the whole current view for every
message that showed the room.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import Any

import aiohttp

Json = dict[str, Any]


def apply_changes(view: Json, patch: Json) -> Json:
    """A patch's `room` applied to a view, as `applyChanges` in `static/live.js` does."""
    result = {**view, **patch}
    people = patch.get("participants")
    if isinstance(people, dict):
        result["participants"] = [
            {**p, **people[p["accountId"]]} if p["accountId"] in people else p
            for p in view["participants"]
        ]
    return result


def answers_a_command(message: Json) -> bool:
    """Whether a received message answers a command (an `ack`, carried or not, or an error)."""
    return message["type"] in ("ack", "error") or "ack" in message


class LiveReader:
    """One socket's messages, with the view kept as the page keeps it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.view: Json | None = None
        self.raw: list[Json] = []
        self._ready: deque[Json] = deque()

    def take(self, message: Json) -> list[Json]:
        """The plain messages one received message stands for (and the view updated)."""
        self.raw.append(message)
        plain: list[Json] = []
        if "ack" in message:
            plain.append({"type": "ack", "id": message["ack"]})
        if message["type"] == "patch":
            if self.view is None or message["from"] != self.view["version"]:
                raise AssertionError(f"a patch from {message['from']} to a view it does not fit")
            self.view = apply_changes(self.view, message["room"])
            plain.append({"type": "room", "room": self.view})
        elif message["type"] == "room":
            self.view = message["room"]
            plain.append({"type": "room", "room": self.view})
        else:
            plain.append(message)
        return plain

    async def receive(self, within: float = 5) -> Json:
        """The next plain message (waiting at most `within` seconds for each one)."""
        while not self._ready:
            message = await asyncio.wait_for(self.ws.receive_json(), timeout=within)
            self._ready.extend(self.take(message))
        return self._ready.popleft()


_READERS: weakref.WeakKeyDictionary[aiohttp.ClientWebSocketResponse, LiveReader] = (
    weakref.WeakKeyDictionary()
)


def reader(ws: aiohttp.ClientWebSocketResponse) -> LiveReader:
    """The one reader of a socket."""
    if ws not in _READERS:
        _READERS[ws] = LiveReader(ws)
    return _READERS[ws]


async def next_of(ws: aiohttp.ClientWebSocketResponse, kind: str, within: float = 5) -> Json:
    """The next plain message of `kind` (`room`, `ack`, `error`, `removed`)."""
    while True:
        message = await reader(ws).receive(within)
        if message["type"] == kind:
            return message
