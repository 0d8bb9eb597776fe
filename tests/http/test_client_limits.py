"""What one client may ask of a process: REST requests, sockets, commands, tickets.

Each limit answers 429 (a socket's command: an `error` with `retryAfter`), says when to
try again, counts the refusal in `agiletoolbox_limited_total`, and leaves other people
and other sites alone.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from agiletoolbox.adapters.http.limits import Limits
from agiletoolbox.adapters.http.web_settings import WebSettings
from tests.http.kit import TENANT_A, Backend, auth
from tests.http.test_live_limits import (
    ANA_A,
    BEN_A,
    AiohttpClient,
    Client,
    closed,
    connect,
    current,
    open_room,
    ticket,
)
from tests.unit.roomkit import CAI

CAI_A = auth(TENANT_A, CAI)


async def client_with(backend: Backend, aiohttp_client: AiohttpClient, **limits: Any) -> Client:
    roomy = {
        "requests_per_minute_person": 10**6,
        "requests_per_minute_site": 10**7,
        "sockets_per_person": 100,
        "commands_per_second": 1e6,
        "command_burst": 10**6,
    }
    settings = WebSettings(heartbeat_seconds=5, limits=Limits(**{**roomy, **limits}))
    return await aiohttp_client(backend.app(settings))


async def metric(client: Client, limit: str) -> float:
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(f'agiletoolbox_limited_total{{limit="{limit}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_person_over_their_request_rate_gets_429_and_others_go_on(
    backend: Backend, aiohttp_client: AiohttpClient
) -> None:
    client = await client_with(backend, aiohttp_client, requests_per_minute_person=60)
    room_id = await open_room(client)  # Ana: 1 request (Ben and Cai join: theirs)
    before = await metric(client, "requests_per_person")
    statuses = []
    for _ in range(12):
        response = await client.get(f"/api/rooms/{room_id}/ticket", headers=ANA_A)
        statuses.append(response.status)
        if response.status == 429:
            refused = response
            break
    assert statuses[-1] == 429
    assert len(statuses) == 10  # a burst of 10 (a tenth of a minute's), the first went before
    body = await refused.json()
    assert body["error"]["code"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) == body["error"]["retryAfter"] >= 1
    assert (await client.get(f"/api/rooms/{room_id}/ticket", headers=BEN_A)).status == 405
    assert await metric(client, "requests_per_person") == before + 1


async def test_a_site_over_its_request_rate_gets_429(
    backend: Backend, aiohttp_client: AiohttpClient
) -> None:
    client = await client_with(backend, aiohttp_client, requests_per_minute_site=60)
    statuses = []
    for n in range(12):
        headers = (ANA_A, BEN_A, CAI_A)[n % 3]
        response = await client.get("/api/rooms", params={"issueKey": "DEMO-9"}, headers=headers)
        statuses.append(response.status)
    assert statuses[:10] == [204] * 10
    assert statuses[10:] == [429, 429], "everyone on the site shares its rate"
    other_site = auth(TENANT_A.__class__("tenant-b"), CAI)
    assert (
        await client.get("/api/rooms", params={"issueKey": "DEMO-9"}, headers=other_site)
    ).status == 204


async def test_a_ticket_opens_one_socket(client: Client) -> None:
    room_id = await open_room(client)
    issued = await ticket(client, room_id, ANA_A)
    live = f"/api/rooms/{room_id}/live"
    first = await client.ws_connect(live, params={"ticket": issued})
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(live, params={"ticket": issued})
    assert refused.value.status == 401
    await first.close()


async def test_sockets_per_person_and_per_process_are_bounded(
    backend: Backend, aiohttp_client: AiohttpClient
) -> None:
    client = await client_with(backend, aiohttp_client, sockets_per_person=2, sockets_per_process=4)
    room_id = await open_room(client)
    anas = [await connect(client, room_id, ANA_A) for _ in range(2)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(client, room_id, ANA_A)
    assert refused.value.status == 429
    others = [await connect(client, room_id, headers) for headers in (BEN_A, CAI_A)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as full:
        await connect(client, room_id, BEN_A)
    assert full.value.status == 429
    await anas[0].close()
    await asyncio.sleep(0.05)
    again = await connect(client, room_id, ANA_A)  # a closed socket frees its place
    for ws in (anas[1], *others, again):
        await ws.close()
    assert await metric(client, "sockets_per_person") >= 1
    assert await metric(client, "sockets_per_process") >= 1


async def test_commands_over_the_rate_are_refused_and_a_flood_is_closed(
    backend: Backend, aiohttp_client: AiohttpClient
) -> None:
    client = await client_with(
        backend, aiohttp_client, commands_per_second=0.5, command_burst=3, flood_close_after=5
    )
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    for n, card in enumerate(["1", "2", "3", "5"]):
        await ana.send_str(json.dumps({"op": "vote", "card": card, "id": n}))
    answers: dict[Any, dict[str, Any]] = {}
    while 3 not in answers:
        message = json.loads((await ana.receive(timeout=5)).data)
        if message["type"] == "error" or "ack" in message:
            answers[message.get("id", message.get("ack"))] = message
    refused = answers[3]["error"]
    assert (refused["status"], refused["code"]) == (429, "too_many_requests")
    assert refused["retryAfter"] >= 1
    held = {p["accountId"]: p["voted"] for p in (await current(client))["participants"]}
    assert held[ANA_A["Authorization"].split()[2]] is True
    # Going on regardless: the socket is closed with 1008 (policy violation).
    for n in range(4, 12):
        await ana.send_str(json.dumps({"op": "vote", "card": "8", "id": n}))
    assert (await closed(ana)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ana.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
    assert await metric(client, "commands_per_second") >= 5
