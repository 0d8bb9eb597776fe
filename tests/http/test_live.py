"""Live sockets: masked views per recipient, acks, resync, tickets, shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from agiletoolbox.adapters.http.web_settings import FORGE_UI_ORIGINS, WebSettings
from tests.http.kit import TENANT_A, TENANT_B, Backend, auth, scoped
from tests.livekit import next_of
from tests.unit.roomkit import ANA, BEN

ANA_A = auth(TENANT_A, ANA)
BEN_A = auth(TENANT_A, BEN)


async def open_room(client: TestClient) -> str:
    response = await client.post(
        "/api/rooms", json={"issueKey": "DEMO-1"}, headers=scoped(ANA_A, "DEMO-1")
    )
    room_id: str = (await response.json())["id"]
    await client.post(f"/api/rooms/{room_id}/join", json={}, headers=BEN_A)
    return room_id


async def connect(
    client: TestClient, room_id: str, headers: dict[str, str]
) -> aiohttp.ClientWebSocketResponse:
    ticket = await (await client.post(f"/api/rooms/{room_id}/ticket", headers=headers)).json()
    return await client.ws_connect(
        f"/api/rooms/{room_id}/live", params={"ticket": ticket["ticket"]}
    )


async def view_where(ws: aiohttp.ClientWebSocketResponse, check: Any) -> dict[str, Any]:
    while True:
        room = (await next_of(ws, "room"))["room"]
        if check(room):
            return room


def cards(room: dict[str, Any]) -> dict[str, Any]:
    return {p["accountId"]: p["card"] for p in room["participants"]}


async def test_each_recipient_gets_their_own_masked_view(client: TestClient) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    ben = await connect(client, room_id, BEN_A)
    await ben.send_json({"op": "vote", "card": "5", "id": "b1"})
    assert (await next_of(ben, "ack"))["id"] == "b1"
    seen_by_ana = await view_where(ana, lambda r: any(p["voted"] for p in r["participants"]))
    assert cards(seen_by_ana)[BEN.value] is None
    seen_by_ben = await view_where(ben, lambda r: cards(r)[BEN.value] is not None)
    assert cards(seen_by_ben)[BEN.value] == "5"
    await client.post(f"/api/rooms/{room_id}/reveal", headers=ANA_A)
    revealed = await view_where(ana, lambda r: r["state"] == "revealed")
    assert cards(revealed)[BEN.value] == "5"
    await ana.close()
    await ben.close()


async def test_versions_only_grow_and_errors_carry_the_id(client: TestClient) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    await ana.send_json({"op": "reveal", "id": 7})
    error = await next_of(ana, "error")
    assert error["id"] == 7
    assert error["error"]["status"] == 409
    await ana.send_str("not json")
    assert (await next_of(ana, "error"))["error"]["code"] == "invalid_command"
    await ana.send_json({"op": "dance", "id": "x"})
    assert (await next_of(ana, "error"))["id"] == "x"
    await ana.send_json({"op": "vote", "card": "4", "id": "bad"})
    assert (await next_of(ana, "error"))["error"]["status"] == 422
    seen = []
    for n, card in enumerate(["1", "2", "3", "5"]):
        await ana.send_json({"op": "vote", "card": card, "id": n})
    while not seen or cards(seen[-1])[ANA.value] != "5":
        seen.append((await next_of(ana, "room"))["room"])
    versions = [room["version"] for room in seen]
    assert versions == sorted(set(versions))
    await ana.close()


async def test_a_reconnecting_client_gets_the_current_view(client: TestClient) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    first = (await next_of(ana, "room"))["room"]
    await ana.close()
    await client.put(f"/api/rooms/{room_id}/vote", json={"card": "8"}, headers=BEN_A)
    again = await connect(client, room_id, ANA_A)
    await again.send_json({"op": "sync", "version": first["version"], "id": "s"})
    current = await view_where(again, lambda r: r["version"] > first["version"])
    assert any(p["voted"] for p in current["participants"])
    await again.close()


async def test_presence_follows_the_sockets(client: TestClient) -> None:
    room_id = await open_room(client)
    ben = await connect(client, room_id, BEN_A)
    await next_of(ben, "room")
    await client.post(f"/api/rooms/{room_id}/leave", headers=ANA_A)
    await ben.close()
    await asyncio.sleep(0.05)
    room = await (
        await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=BEN_A)
    ).json()
    assert [p["online"] for p in room["participants"]] == [False]


def online(room: dict[str, Any]) -> dict[str, bool]:
    return {p["accountId"]: p["online"] for p in room["participants"]}


async def test_only_a_live_socket_puts_someone_online(client: TestClient) -> None:
    """Opening or joining over REST leaves the person offline (nothing would ever take
    them offline again); their socket's arrival puts them online, and so does joining
    from an open socket, again after leaving."""
    room_id = await open_room(client)  # Ana opened it, Ben joined: both over REST
    ben = await connect(client, room_id, BEN_A)
    seen = await view_where(ben, lambda r: online(r)[BEN.value])
    assert online(seen) == {ANA.value: False, BEN.value: True}

    await ben.send_json({"op": "leave", "id": 1})
    await view_where(ben, lambda r: BEN.value not in online(r))
    await ben.send_json({"op": "join", "id": 2, "role": "voter"})
    seen = await view_where(ben, lambda r: online(r).get(BEN.value) is True)
    assert online(seen) == {ANA.value: False, BEN.value: True}

    await ben.close()
    for _ in range(100):
        got = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=BEN_A)
        if not any(online(await got.json()).values()):
            break
        await asyncio.sleep(0.02)
    assert online(await got.json()) == {ANA.value: False, BEN.value: False}


async def test_tickets_are_bound_to_the_room(client: TestClient) -> None:
    room_id = await open_room(client)
    other = await (
        await client.post(
            "/api/rooms", json={"issueKey": "DEMO-2"}, headers=scoped(ANA_A, "DEMO-2")
        )
    ).json()
    ticket = await (await client.post(f"/api/rooms/{room_id}/ticket", headers=ANA_A)).json()
    wrong_room = await client.get(
        f"/api/rooms/{other['id']}/live", params={"ticket": ticket["ticket"]}
    )
    assert wrong_room.status == 401
    forged = await client.get(
        f"/api/rooms/{room_id}/live", params={"ticket": ticket["ticket"] + "x"}
    )
    assert forged.status == 401
    anonymous = await client.get(f"/api/rooms/{room_id}/live")
    assert anonymous.status == 401
    stranger = await client.post(f"/api/rooms/{room_id}/ticket", headers=auth(TENANT_B, ANA))
    assert stranger.status == 404


async def test_removal_closes_the_sockets(client: TestClient) -> None:
    room_id = await open_room(client)
    ben = await connect(client, room_id, BEN_A)
    await next_of(ben, "room")
    await client.delete(f"/api/rooms/{room_id}", headers=ANA_A)
    assert (await next_of(ben, "removed"))["type"] == "removed"
    closing = await asyncio.wait_for(ben.receive(), timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ben.close_code == 4404


async def test_binary_frames_are_refused(client: TestClient) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    await ana.send_bytes(b"\x00\x01")
    while (await asyncio.wait_for(ana.receive(), timeout=5)).type is aiohttp.WSMsgType.TEXT:
        pass
    assert ana.close_code == 1003


async def test_shutdown_says_going_away(backend: Backend, aiohttp_client: Any) -> None:
    client: TestClient = await aiohttp_client(backend.app())
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    await next_of(ana, "room")
    closing = asyncio.create_task(client.server.close())
    while (await asyncio.wait_for(ana.receive(), timeout=5)).type is aiohttp.WSMsgType.TEXT:
        pass
    await closing
    assert ana.close_code == 1001


async def test_a_socket_from_a_page_of_another_site_is_refused_before_the_upgrade(
    backend: Backend, aiohttp_client: Any
) -> None:
    app_origin = "http://app.example:8080"
    client = await aiohttp_client(backend.app(WebSettings(socket_origins=(app_origin,))))
    room_id = await open_room(client)
    path = f"/api/rooms/{room_id}/live"

    async def ticket() -> str:
        answer = await client.post(f"/api/rooms/{room_id}/ticket", headers=ANA_A)
        issued: str = (await answer.json())["ticket"]
        return issued

    for origin in ("https://evil.example", "https://acme.atlassian.net.evil.example", "null"):
        headers = {"Origin": origin, "Upgrade": "websocket", "Connection": "Upgrade"}
        headers |= {"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
        response = await client.get(path, params={"ticket": await ticket()}, headers=headers)
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "forbidden"
    # The app's own pages, Atlassian's, and clients that are not browsers (no Origin) may.
    for origin in (app_origin, "https://acme.atlassian.net", None):
        ws = await client.ws_connect(path, params={"ticket": await ticket()}, origin=origin)
        assert (await next_of(ws, "room"))["room"]["id"] == room_id
        await ws.close()


def test_the_forge_ui_host_may_open_sockets_only_when_the_forge_app_is_on() -> None:
    forge_page = "https://0c3a9b1e-7f2d-4e6a-9b8c-1d2e3f4a5b6c.cdn.prod.atlassian-dev.net"
    assert not WebSettings().allows_socket_origin(forge_page)
    on = WebSettings(socket_origin_patterns=FORGE_UI_ORIGINS)
    assert on.allows_socket_origin(forge_page)
    assert not on.allows_socket_origin("https://cdn.prod.atlassian-dev.net.evil.example")
    assert not on.allows_socket_origin("http://x.cdn.prod.atlassian-dev.net")


async def test_a_ticket_names_the_deployment_its_socket_connects_to(
    backend: Backend, aiohttp_client: Any
) -> None:
    named = await aiohttp_client(backend.app(WebSettings(base_url="https://eu.poker.example")))
    room_id = await open_room(named)
    answer = await (await named.post(f"/api/rooms/{room_id}/ticket", headers=ANA_A)).json()
    assert answer["baseUrl"] == "https://eu.poker.example"
    assert answer["ticket"]


class SharedBoard:
    """A presence board shared with another (pretend) process."""

    def __init__(self) -> None:
        self.held_elsewhere: set[tuple[str, str]] = set()
        self.dead: list[tuple[Any, Any, Any]] = []
        self.arrived: list[str] = []
        self.renewed = 0

    async def arrive(self, tenant: Any, room_id: Any, account: Any) -> None:
        self.arrived.append(account.value)

    async def leave(self, tenant: Any, room_id: Any, account: Any) -> bool:
        return (room_id.value, account.value) not in self.held_elsewhere

    async def renew(self) -> None:
        self.renewed += 1

    async def expired(self) -> list[tuple[Any, Any, Any]]:
        dead, self.dead = self.dead, []
        return dead


async def test_presence_follows_the_sockets_of_every_process(
    backend: Backend, aiohttp_client: Any, monkeypatch: Any
) -> None:
    from agiletoolbox.adapters.http import seats
    from agiletoolbox.domain.ids import RoomId

    monkeypatch.setattr(seats, "PRESENCE_RENEW_SECONDS", 0.02)
    board = SharedBoard()
    client = await aiohttp_client(backend.app(presence=board))
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    ben = await connect(client, room_id, BEN_A)
    await view_where(ana, lambda r: all(p["online"] for p in r["participants"]))
    assert sorted(board.arrived) == sorted([ANA.value, BEN.value])

    # Ben's last socket here closes while another process still holds one: online.
    board.held_elsewhere.add((room_id, BEN.value))
    await ben.close()
    await asyncio.sleep(0.2)
    online = await (await client.get("/api/rooms?issueKey=DEMO-1", headers=ANA_A)).json()
    assert {p["accountId"]: p["online"] for p in online["participants"]}[BEN.value] is True

    # That process dies: its lease runs out, and this process marks Ben offline.
    board.dead.append((TENANT_A, RoomId(room_id), BEN))
    gone = await view_where(
        ana, lambda r: not {p["accountId"]: p["online"] for p in r["participants"]}[BEN.value]
    )
    assert gone["version"] > online["version"]
    assert board.renewed > 0
    await ana.close()


def count_room_reads(backend: Backend, monkeypatch: Any) -> list[str]:
    """Every read the live rooms make of a room to refresh its sockets, from now on."""
    reads: list[str] = []
    get = backend.rooms.get

    async def counted(*args: Any) -> Any:
        reads.append("get")
        return await get(*args)

    monkeypatch.setattr(backend.rooms, "get", counted)
    return reads


async def test_a_change_made_here_reaches_the_sockets_without_reading_the_room_again(
    backend: Backend, client: TestClient, monkeypatch: Any
) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    await view_where(ana, lambda r: True)
    reads = count_room_reads(backend, monkeypatch)
    await client.put(f"/api/rooms/{room_id}/vote", json={"card": "5"}, headers=BEN_A)
    seen = await view_where(ana, lambda r: any(p["voted"] for p in r["participants"]))
    assert cards(seen)[BEN.value] is None  # masked for Ana, as a re-read would be
    await asyncio.sleep(0.1)  # the change's own signal has come and gone
    assert reads == []
    await ana.close()


def signal_at_commit(backend: Backend, monkeypatch: Any) -> None:
    """Deliver each room change's signal from inside the commit, before the use case that
    made it hears back - as PostgreSQL's NOTIFY, on its own connection, may arrive."""
    from agiletoolbox.adapters.memory.store import MemoryUnitOfWork
    from agiletoolbox.ports import RoomChange

    commit = MemoryUnitOfWork.commit

    async def early(self: MemoryUnitOfWork) -> None:
        before = {key: room.version for key, room in backend.store.rooms.items()}
        await commit(self)
        for (tenant, room_id), room in list(backend.store.rooms.items()):
            if room.version > before.get((tenant, room_id), 0):
                backend.bus._deliver(RoomChange(tenant, room_id, room.version))

    monkeypatch.setattr(MemoryUnitOfWork, "commit", early)


async def test_the_signal_of_a_change_made_here_is_not_read_back_even_when_it_comes_first(
    backend: Backend, client: TestClient, monkeypatch: Any
) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    await view_where(ana, lambda r: True)
    signal_at_commit(backend, monkeypatch)
    reads = count_room_reads(backend, monkeypatch)
    for card in ("5", "8", "3"):
        await client.put(f"/api/rooms/{room_id}/vote", json={"card": card}, headers=BEN_A)
    seen = await view_where(ana, lambda r: any(p["voted"] for p in r["participants"]))
    assert cards(seen)[BEN.value] is None
    await asyncio.sleep(0.1)
    assert reads == []
    await ana.close()


async def test_a_change_from_elsewhere_during_a_failed_change_here_still_arrives(
    backend: Backend, client: TestClient, monkeypatch: Any
) -> None:
    from agiletoolbox.domain.room import Room
    from agiletoolbox.ports import RoomChange

    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    ws_ben = await connect(client, room_id, BEN_A)
    first = await view_where(ana, lambda r: all(p["online"] for p in r["participants"]))
    reveal = Room.reveal

    def meanwhile(room: Room, *args: Any) -> None:
        # While Ben's refused command is under way, another process records Ana's vote.
        monkeypatch.setattr(Room, "reveal", reveal)
        ((stored_key, stored),) = backend.store.rooms.items()
        stored.vote(ANA, "13", backend.clock.now())
        stored.drain_events()
        backend.bus._deliver(RoomChange(stored_key[0], stored_key[1], stored.version))
        reveal(room, *args)

    monkeypatch.setattr(Room, "reveal", meanwhile)
    await ws_ben.send_json({"op": "reveal", "id": 1})  # Ben is not the owner: refused
    assert (await next_of(ws_ben, "error"))["id"] == 1
    seen = await view_where(ana, lambda r: r["version"] > first["version"] and cards(r)[ANA.value])
    assert cards(seen)[ANA.value] == "13"
    await ana.close()
    await ws_ben.close()


async def test_a_process_never_races_itself_for_a_room(
    backend: Backend, client: TestClient, monkeypatch: Any
) -> None:
    from agiletoolbox.adapters.memory.store import MemoryUnitOfWork
    from agiletoolbox.domain.errors import ConcurrentChange
    from tests.unit.roomkit import CAI

    room_id = await open_room(client)
    await client.post(f"/api/rooms/{room_id}/join", json={}, headers=auth(TENANT_A, CAI))
    commit = MemoryUnitOfWork.commit
    outcomes: list[str] = []

    async def slow(self: MemoryUnitOfWork) -> None:
        await asyncio.sleep(0)  # let every other vote reach its own commit
        try:
            await commit(self)
        except ConcurrentChange:
            outcomes.append("lost")
            raise
        outcomes.append("committed")

    monkeypatch.setattr(MemoryUnitOfWork, "commit", slow)
    people = (ANA_A, BEN_A, auth(TENANT_A, CAI))
    answers = await asyncio.gather(
        *(
            client.put(f"/api/rooms/{room_id}/vote", json={"card": card}, headers=who)
            for who, card in zip(people, "358", strict=True)
        )
    )
    assert [answer.status for answer in answers] == [200, 200, 200]
    assert outcomes == ["committed"] * 3


async def test_a_resync_reads_every_room_held_in_one_read(
    backend: Backend, client: TestClient, monkeypatch: Any
) -> None:
    first = await open_room(client)
    response = await client.post(
        "/api/rooms", json={"issueKey": "DEMO-2"}, headers=scoped(ANA_A, "DEMO-2")
    )
    second = (await response.json())["id"]
    sockets = [await connect(client, room_id, ANA_A) for room_id in (first, second)]
    for ws in sockets:
        await view_where(ws, lambda r: True)
    batches: list[int] = []
    get_many = backend.rooms.get_many

    async def counted(keys: Any) -> Any:
        batches.append(len(keys))
        return await get_many(keys)

    monkeypatch.setattr(backend.rooms, "get_many", counted)
    for room_id in (first, second):  # changed behind this process's back
        (room,) = [r for r in backend.store.rooms.values() if r.id.value == room_id]
        room.vote(ANA, "8", backend.clock.now())
        room.drain_events()
    backend.bus.resync()
    for ws in sockets:
        seen = await view_where(ws, lambda r: cards(r)[ANA.value] == "8")
        assert seen["version"] > 1
    assert batches == [2]
    for ws in sockets:
        await ws.close()


async def test_a_tab_that_reconnects_at_once_stays_online(client: TestClient) -> None:
    """The old socket's close and the new socket's arrival race; the person must end up
    online while the new socket is open, however they interleave."""
    room_id = await open_room(client)
    ben = await connect(client, room_id, BEN_A)
    await view_where(ben, lambda r: online(r)[BEN.value])
    for _ in range(20):
        closing = asyncio.ensure_future(ben.close())
        ben = await connect(client, room_id, BEN_A)
        await closing
        await next_of(ben, "room")
    for _ in range(100):
        got = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=BEN_A)
        if online(await got.json())[BEN.value]:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # let any late leaving land
    got = await client.get("/api/rooms", params={"issueKey": "DEMO-1"}, headers=BEN_A)
    assert online(await got.json())[BEN.value], "offline with a socket open"
    await ben.close()
