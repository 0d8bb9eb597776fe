"""Live sockets under pressure: slow readers, oversize messages, dead peers, floods."""

from __future__ import annotations

import asyncio
import bisect
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.keys import LIVE
from agiletoolbox.adapters.http.live_socket import CLOSE_TOO_SLOW, LiveSocket
from agiletoolbox.adapters.http.live_views import PATCH_BACKLOG
from agiletoolbox.adapters.http.protocol import GuardedAppRunner
from agiletoolbox.adapters.http.web_settings import WebSettings
from tests.http.kit import TENANT_A, Backend, auth, scoped
from tests.http.raw_socket import CLOSE, TEXT, RawWebSocket
from tests.livekit import LiveReader, next_of
from tests.unit.roomkit import ANA, BEN, CAI, ROOM_ID, TENANT

ANA_A = auth(TENANT_A, ANA)
BEN_A = auth(TENANT_A, BEN)
CAI_A = auth(TENANT_A, CAI)
# Long labels make a deck a few kilobytes; a room whose deck changes back and forth sends
# it with every change, so a reader that stops fills its TCP buffers after hundreds of
# changes rather than thousands.
BIG_DECKS = tuple(
    {
        "cards": [{"label": f"{kind}-{n:03d}-padding", "value": n} for n in range(39)],
    }
    for kind in ("a", "b")
)

Client = TestClient[web.Request, web.Application]
AiohttpClient = Callable[..., Awaitable[Client]]


async def open_room(client: Client, *, deck: object = "fibonacci") -> str:
    """A room of Ana's on DEMO-1 that Ben and Cai joined."""
    response = await client.post(
        "/api/rooms", json={"issueKey": "DEMO-1", "deck": deck}, headers=scoped(ANA_A, "DEMO-1")
    )
    assert response.status == 201, await response.text()
    room_id: str = (await response.json())["id"]
    for headers in (BEN_A, CAI_A):
        await client.post(f"/api/rooms/{room_id}/join", json={}, headers=headers)
    return room_id


async def ticket(client: Client, room_id: str, headers: dict[str, str]) -> str:
    response = await client.post(f"/api/rooms/{room_id}/ticket", headers=headers)
    issued: str = (await response.json())["ticket"]
    return issued


async def connect(
    client: Client, room_id: str, headers: dict[str, str], **options: Any
) -> aiohttp.ClientWebSocketResponse:
    ws: aiohttp.ClientWebSocketResponse = await client.ws_connect(
        f"/api/rooms/{room_id}/live",
        params={"ticket": await ticket(client, room_id, headers)},
        **options,
    )
    return ws


async def current(client: Client, headers: dict[str, str] = ANA_A) -> dict[str, Any]:
    response = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=headers)
    room: dict[str, Any] = await response.json()
    return room


async def closed(ws: aiohttp.ClientWebSocketResponse, *, within: float = 5) -> aiohttp.WSMessage:
    """The message that ends `ws`, skipping what comes before it."""
    async with asyncio.timeout(within):
        while True:
            message = await ws.receive()
            if message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return message


async def eventually(check: Callable[[], bool], *, within: float = 5) -> None:
    """Return once `check()` holds; fail after `within` seconds."""
    for _ in range(int(within / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    assert check()


def port_of(client: Client) -> int:
    port = client.port
    assert port is not None
    return port


def live_sockets(app: web.Application) -> list[LiveSocket]:
    """The sockets the app holds (white box: the test needs to see their queues)."""
    return [socket for held in app[LIVE]._rooms.values() for socket in held.sockets]


class Watcher:
    """Reads a fast socket all along and notes when each room version arrived."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.arrivals: dict[int, float] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            body = json.loads(message.data)
            if body["type"] in ("room", "patch"):
                self.arrivals.setdefault(body["room"]["version"], time.perf_counter())

    def lags(self, changed_at: dict[int, float]) -> list[float]:
        """For each change, how long this reader waited for that version (or a newer one)."""
        versions = sorted(self.arrivals)
        lags: list[float] = []
        for version, at in changed_at.items():
            index = bisect.bisect_left(versions, version)
            assert index < len(versions), f"version {version} never arrived"
            lags.append(self.arrivals[versions[index]] - at)
        return lags

    async def stop(self) -> None:
        await self.ws.close()
        await self.task


# -- a slow consumer ----------------------------------------------------------------------


async def test_a_reader_that_stops_holds_back_no_one(
    backend: Backend, aiohttp_client: AiohttpClient
) -> None:
    # The silent reader never answers pings either; keep the heartbeat out of the picture.
    app = backend.app(WebSettings(heartbeat_seconds=60))
    client = await aiohttp_client(app)
    room_id = await open_room(client, deck=BIG_DECKS[0])
    ana = Watcher(await connect(client, room_id, ANA_A))
    ben = Watcher(await connect(client, room_id, BEN_A))
    target = f"/api/rooms/{room_id}/live?ticket={await ticket(client, room_id, CAI_A)}"
    async with await RawWebSocket.open("127.0.0.1", port_of(client), target) as cai:
        await eventually(lambda: len(live_sockets(app)) == 3)
        (slow,) = [s for s in live_sockets(app) if s.caller.account == CAI]
        changed_at: dict[int, float] = {}
        stalled_from: int | None = None
        for n in range(6000):
            response = await client.patch(
                f"/api/rooms/{room_id}", json={"deck": BIG_DECKS[(n + 1) % 2]}, headers=ANA_A
            )
            version: int = (await response.json())["version"]
            changed_at[version] = time.perf_counter()
            if stalled_from is None and slow.backlog >= PATCH_BACKLOG:
                # Cai's kernel buffers are full and the pump waits for him to read.
                stalled_from = version
            if stalled_from is not None:
                assert not slow._replies
                assert slow.backlog <= PATCH_BACKLOG, "a stalled socket's queue stays short"
                assert slow.version == version
                if version - stalled_from >= 300:
                    break
        assert stalled_from is not None, "Cai never fell behind: the test did not test"
        latest = version

        # The others saw every change promptly, stalled reader or not.
        await asyncio.sleep(0.2)
        for watcher in (ana, ben):
            waited = max(watcher.lags(changed_at))
            assert waited < 1.0, f"a fast reader waited {waited:.3f}s"

        # Cai reads again: versions grow, each message fits the view he has, and what piled
        # up while he slept was coalesced into whole views.
        page = LiveReader(cast(aiohttp.ClientWebSocketResponse, None))
        versions: list[int] = []
        async with asyncio.timeout(10):
            while not versions or versions[-1] < latest:
                opcode, payload = await cai.receive()
                assert opcode != CLOSE
                if opcode == TEXT and (body := json.loads(payload))["type"] in ("room", "patch"):
                    page.take(body)
                    versions.append(body["room"]["version"])
        assert versions == sorted(set(versions))
        assert versions[-1] == latest
        assert page.view == await current(client, CAI_A)
        assert len(versions) < len(changed_at) - 250, "the changes queued while stalled coalesced"
    await ana.stop()
    await ben.stop()


class _GatedSocket:
    """Stands in for a WebSocketResponse whose peer stopped reading until `gate` opens."""

    def __init__(self) -> None:
        self.closed = False
        self.gate = asyncio.Event()
        self.sent: list[dict[str, Any]] = []
        self.close_code: int | None = None

    async def send_frame(self, frame: bytes, opcode: WSMsgType) -> None:
        assert opcode is WSMsgType.TEXT
        await self.gate.wait()
        self.sent.append(json.loads(frame))

    async def close(self, *, code: int) -> None:
        self.close_code = code
        self.closed = True


def frame(kind: str, version: int) -> bytes:
    return json.dumps({"type": kind, "room": {"version": version}}).encode()


async def test_a_stalled_pump_keeps_the_newest_whole_view_and_a_bounded_number_of_replies() -> None:
    fake = _GatedSocket()
    socket = LiveSocket(
        cast(web.WebSocketResponse, fake), Caller(TENANT, BEN, None), ROOM_ID, limit=8
    )
    pump = asyncio.create_task(socket.pump())
    socket.show(frame("room", 1), 1, whole=True)
    socket.deliver()  # a peer whose buffer is full: the pump sends it
    await asyncio.sleep(0)  # the pump takes the first view and waits on the gate
    for version in range(2, 500):
        whole = version % PATCH_BACKLOG == 0
        socket.show(frame("room" if whole else "patch", version), version, whole=whole)
        assert socket.backlog <= PATCH_BACKLOG
    for n in range(8):
        socket.reply({"type": "ack", "id": n})
        socket.deliver()
    assert socket._replies == 8
    socket.reply({"type": "ack", "id": "one too many"})
    assert socket._replies == 8, "replies beyond the bound are not queued"
    fake.gate.set()
    await asyncio.wait_for(pump, timeout=5)
    sent = [(m["type"], m["room"]["version"]) for m in fake.sent if "room" in m]
    last_whole = 499 - 499 % PATCH_BACKLOG
    assert sent == [
        ("room", 1),
        ("room", last_whole),
        *(("patch", v) for v in range(last_whole + 1, 500)),
    ], "what a whole view makes needless is dropped"
    assert [m["id"] for m in fake.sent if m["type"] == "ack"] == list(range(8))
    assert fake.close_code == CLOSE_TOO_SLOW


async def test_a_close_asked_for_mid_send_still_delivers_what_was_queued_with_it() -> None:
    fake = _GatedSocket()
    socket = LiveSocket(
        cast(web.WebSocketResponse, fake), Caller(TENANT, BEN, None), ROOM_ID, limit=8
    )
    pump = asyncio.create_task(socket.pump())
    socket.show(frame("room", 1), 1, whole=True)
    socket.deliver()
    await asyncio.sleep(0)  # the pump is in the middle of sending that view
    socket.reply({"type": "removed"})
    socket.close_soon(4404)
    fake.gate.set()
    await asyncio.wait_for(pump, timeout=5)
    assert [m["type"] for m in fake.sent] == ["room", "removed"]
    assert fake.close_code == 4404


# -- message size -------------------------------------------------------------------------


def padded_vote(size: int) -> str:
    """A vote command of exactly `size` bytes (the padding is in its id)."""
    bare = json.dumps({"op": "vote", "card": "5", "id": ""})
    return json.dumps({"op": "vote", "card": "5", "id": "x" * (size - len(bare))})


async def test_an_oversize_message_closes_the_socket_and_changes_nothing(
    backend: Backend, aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    settings = WebSettings(heartbeat_seconds=5)
    limit = settings.max_socket_message_bytes
    client = await aiohttp_client(backend.app(settings))
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    before = (await next_of(ana, "room"))["room"]
    while not before["participants"][0]["online"]:  # her socket's arrival
        before = (await next_of(ana, "room"))["room"]

    # Just under the limit is a message like any other (JSON may pad with whitespace).
    near = '{"op": "sync", "id": "near"}'
    await ana.send_str(near[:-1] + " " * (limit - 100 - len(near)) + "}")
    assert (await next_of(ana, "ack"))["id"] == "near"

    # Ana keeps a second socket, so closing the first changes not even her presence.
    other = await connect(client, room_id, ANA_A)
    message = padded_vote(limit + 1)
    assert len(message.encode()) == limit + 1
    await ana.send_str(message)
    assert (await closed(ana)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ana.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    # The close is logged with why, never with what the message held.
    closes = [r.getMessage() for r in caplog.records if "closed a live socket" in r.getMessage()]
    assert closes == [
        f"closed a live socket of room {room_id} with 1009: a message over the {limit}-byte limit"
    ]
    assert not any("xxxx" in r.getMessage() for r in caplog.records)
    after = await current(client)
    assert after["version"] == before["version"]
    assert not any(p["voted"] for p in after["participants"])

    # Browsers offer permessage-deflate; the server declines it (no zlib state per socket),
    # so no small compressed frame can inflate past the limit either.
    offering = await connect(client, room_id, ANA_A, compress=15)
    assert offering.compress == 0
    await offering.send_str(padded_vote(16 * limit))
    await closed(offering)
    assert offering.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert (await current(client))["version"] == before["version"]

    await other.send_json({"op": "vote", "card": "5", "id": "still here"})
    assert (await next_of(other, "ack"))["id"] == "still here"
    await other.close()


# -- heartbeats ---------------------------------------------------------------------------


async def test_heartbeats_close_a_peer_that_stops_answering(
    backend: Backend, aiohttp_client: AiohttpClient
) -> None:
    app = backend.app(WebSettings(heartbeat_seconds=0.2))
    client = await aiohttp_client(app)
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)  # answers pings (aiohttp's autoping)
    ben = await connect(client, room_id, BEN_A, autoping=False)
    await next_of(ana, "room")
    await next_of(ben, "room")
    # aiohttp's client answers pings while it reads: keep Ana reading all along.
    heard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def read_ana() -> None:
        page = LiveReader(ana)
        async for message in ana:
            for plain in page.take(json.loads(message.data)):
                heard.put_nowait(plain)

    reader = asyncio.create_task(read_ana())

    started = time.perf_counter()
    async with asyncio.timeout(3):
        while True:
            message = await ben.receive()
            if message.type is aiohttp.WSMsgType.PING:
                continue  # heard, never answered
            if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
    assert time.perf_counter() - started < 2, "a dead peer is dropped within a few beats"

    await eventually(lambda: app[LIVE].socket_count == 1)
    online = {p["accountId"]: p["online"] for p in (await current(client))["participants"]}
    assert online[BEN.value] is False
    assert online[ANA.value] is True

    # Ana answered every ping in the meantime and is still there.
    await asyncio.sleep(0.6)
    assert not ana.closed
    await ana.send_json({"op": "sync", "id": "alive"})
    async with asyncio.timeout(5):
        while (answer := await heard.get())["type"] != "ack":
            pass
    assert answer["id"] == "alive"
    await ana.close()
    await reader
    await ben.close()


class ServedTestServer(TestServer):
    """The test server, running the app as `serve` does (`GuardedAppRunner`)."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        return GuardedAppRunner(self.app, **kwargs)


async def test_sockets_opened_together_are_not_pinged_in_one_turn(
    backend: Backend, aiohttp_client: AiohttpClient
) -> None:
    # A heartbeat over aiohttp's rounding threshold (5 s by default) was rounded up to the
    # next whole second, so every socket opened within the same second was pinged in the
    # same turn of the event loop: with 1,000 sockets, a stall of tens of ms every beat.
    # Now each fires when due, and each socket's beat is a little shorter at random.
    heartbeat = 7.0
    client = await aiohttp_client(
        ServedTestServer(backend.app(WebSettings(heartbeat_seconds=heartbeat)))
    )
    room_id = await open_room(client)
    people = (ANA_A, BEN_A, CAI_A) * 8
    sockets = [await connect(client, room_id, person, autoping=False) for person in people]
    opened = time.perf_counter()

    async def first_ping(ws: aiohttp.ClientWebSocketResponse) -> float:
        while (await ws.receive()).type is not WSMsgType.PING:
            pass
        return time.perf_counter()

    async with asyncio.timeout(heartbeat + 3):
        pinged = sorted(await asyncio.gather(*(first_ping(ws) for ws in sockets)))
    for ws in sockets:
        await ws.close()
    assert pinged[0] - opened > heartbeat * 0.8 - 1  # the beat itself is kept
    # The most pings that came within 20 ms of each other: rounded, a dozen or more.
    together = max(
        bisect.bisect_right(pinged, at + 0.02) - index for index, at in enumerate(pinged)
    )
    assert together <= 6, f"{together} of {len(pinged)} sockets pinged within 20 ms"


# -- floods -------------------------------------------------------------------------------


async def test_a_flood_of_commands_is_answered_in_order(client: Client) -> None:
    count = 300
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    ben = await connect(client, room_id, BEN_A)

    def command(n: int) -> dict[str, Any]:
        if n % 7 == 3:
            return {"op": "dance", "id": n}
        if n % 11 == 5:
            return {"op": "sync", "id": n}
        return {"op": "vote", "card": ("1", "2")[n % 2], "id": n}

    # Both send everything in one burst: none waits for the answer to the one before.
    for n in range(count):
        await ana.send_str(json.dumps(command(n)))
        await ben.send_json({"op": "vote", "card": ("1", "2")[n % 2], "id": f"b{n}"})

    async def replies(ws: aiohttp.ClientWebSocketResponse) -> list[tuple[str, Any]]:
        answered: list[tuple[str, Any]] = []
        async with asyncio.timeout(10):
            while len(answered) < count:
                message = await ws.receive()
                assert message.type is aiohttp.WSMsgType.TEXT, (message, ws.close_code)
                body = json.loads(message.data)
                if "ack" in body:
                    answered.append(("ack", body["ack"]))
                elif body["type"] not in ("room", "patch"):
                    answered.append((body["type"], body["id"]))
        return answered

    from_ana, from_ben = await asyncio.gather(replies(ana), replies(ben))
    assert from_ana == [
        ("error" if command(n)["op"] == "dance" else "ack", n) for n in range(count)
    ]
    assert from_ben == [("ack", f"b{n}") for n in range(count)]

    # Every vote was applied, in order (the same card twice withdraws it).
    held: str | None = None
    for n in range(count):
        if command(n)["op"] == "vote":
            held = None if held == command(n)["card"] else command(n)["card"]
    mine = {p["accountId"]: p["card"] for p in (await current(client, ANA_A))["participants"]}
    assert mine[ANA.value] == held
    theirs = {p["accountId"]: p["card"] for p in (await current(client, BEN_A))["participants"]}
    assert theirs[BEN.value] == ("1", "2")[(count - 1) % 2]
    await ana.close()
    await ben.close()
