"""Malformed input on the live socket and the REST API: a clean answer, never a crash.

Each case here once reached code that was not ready for it: an HTTP 500 written into the
WebSocket stream, a sending task killed by the encoder, presence never released, a
database error from a character PostgreSQL refuses.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.http.kit import TENANT_A, Backend, auth, scoped
from tests.http.test_live_limits import AiohttpClient, connect, current, open_room
from tests.livekit import next_of
from tests.unit.roomkit import ANA, BEN

ANA_A = auth(TENANT_A, ANA)
BEN_A = auth(TENANT_A, BEN)

Client = TestClient[web.Request, web.Application]


def nested(depth: int, inner: str = "1") -> str:
    """`[[[...inner...]]]`, `depth` arrays deep, as JSON text (json.dumps would recurse)."""
    return "[" * depth + inner + "]" * depth


async def acked(ws: aiohttp.ClientWebSocketResponse, request_id: object) -> dict[str, Any]:
    """The answer to `request_id` (an ack, carried by a view or on its own)."""
    while True:
        message = await next_of(ws, "ack")
        if message["id"] == request_id:
            return message


async def error_of(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await next_of(ws, "error")
    error: dict[str, Any] = message["error"]
    return error


@pytest.fixture
async def client(backend: Backend, aiohttp_client: AiohttpClient) -> Client:
    made: Client = await aiohttp_client(backend.app())
    return made


async def test_a_deeply_nested_message_is_answered_and_the_socket_lives_on(client: Client) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    await next_of(ana, "room")
    await ana.send_str('{"op": "vote", "id": "deep", "card": ' + nested(1000, '"5"') + "}")
    error = await error_of(ana)
    assert (error["status"], error["code"]) == (422, "invalid_command")
    assert "nested" in error["message"]
    # The socket still works.
    await ana.send_json({"op": "vote", "card": "5", "id": "after"})
    assert (await next_of(ana, "ack"))["id"] == "after"
    await ana.close()


async def test_a_request_id_that_is_no_plain_value_is_refused_not_echoed(client: Client) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    await next_of(ana, "room")
    await ana.send_str('{"op": "sync", "id": ' + nested(300) + "}")
    error = await error_of(ana)
    assert error["code"] == "invalid_command"
    await ana.send_str(json.dumps({"op": "sync", "id": "x" * 200}))
    assert (await error_of(ana))["code"] == "invalid_command"
    await ana.send_json({"op": "sync", "id": 7})
    await acked(ana, 7)
    await ana.close()


async def test_presence_is_released_whatever_happened_to_the_socket(client: Client) -> None:
    room_id = await open_room(client)
    ana = await connect(client, room_id, ANA_A)
    while not (await next_of(ana, "room"))["room"]["ownerPresent"]:
        pass  # her socket's arrival makes her present
    refused = await client.post(f"/api/rooms/{room_id}/take-control", headers=BEN_A)
    assert refused.status == 409, await refused.text()
    await ana.send_str('{"op": "sync", "id": ' + nested(300) + "}")
    await ana.close()
    for _ in range(50):
        owner = next(
            p for p in (await current(client, BEN_A))["participants"] if p["accountId"] == ANA.value
        )
        if not owner["online"]:
            break
        await asyncio.sleep(0.05)
    assert not owner["online"], "the owner still looks online after her socket closed"
    # So a teammate may take control.
    response = await client.post(f"/api/rooms/{room_id}/take-control", headers=BEN_A)
    assert response.status == 200, await response.text()


@pytest.mark.parametrize("bad", ["a\u0000b", "\udfffname", "na\u202eme"])
async def test_a_deck_name_with_a_control_character_is_refused_everywhere(
    client: Client, bad: str
) -> None:
    room_id = await open_room(client)
    deck = {"name": bad, "cards": [{"label": "1", "value": 1}, {"label": "2", "value": 2}]}
    body = json.dumps({"deck": deck}, ensure_ascii=True)
    response = await client.patch(
        f"/api/rooms/{room_id}",
        data=body,
        headers={**ANA_A, "Content-Type": "application/json"},
    )
    assert response.status == 422, await response.text()
    ana = await connect(client, room_id, ANA_A)
    await next_of(ana, "room")
    await ana.send_str(json.dumps({"op": "configure", "deck": deck, "id": "c"}, ensure_ascii=True))
    error = await error_of(ana)
    assert error["status"] == 422
    assert bad not in json.dumps(error)
    # The socket is fine afterwards.
    await ana.send_json({"op": "sync", "id": "s"})
    await acked(ana, "s")
    await ana.close()


async def test_a_deeply_nested_rest_body_is_a_clean_refusal(client: Client) -> None:
    body = '{"issueKey": "DEMO-1", "deck": ' + nested(1000) + "}"
    response = await client.post(
        "/api/rooms", data=body, headers={**ANA_A, "Content-Type": "application/json"}
    )
    assert response.status == 400, await response.text()  # deeper than the parser goes
    body = '{"issueKey": "DEMO-1", "deck": ' + nested(20) + "}"
    response = await client.post(
        "/api/rooms", data=body, headers={**ANA_A, "Content-Type": "application/json"}
    )
    assert response.status == 422, await response.text()
    assert (await response.json())["error"]["details"] == ["nested more than 16 deep @ body"]
    response = await client.post(
        "/api/rooms", data="[" * 5000, headers={**ANA_A, "Content-Type": "application/json"}
    )
    assert response.status == 400, await response.text()


async def test_an_answer_quotes_at_most_forty_characters_of_a_bad_value(client: Client) -> None:
    room_id = await open_room(client)
    long_card = "9" * 5000
    response = await client.put(
        f"/api/rooms/{room_id}/vote", json={"card": long_card}, headers=ANA_A
    )
    assert response.status == 422
    message = (await response.json())["error"]["message"]
    assert "9" * 40 not in message
    assert "9" * 39 + "…" in message
    deck = await client.patch(f"/api/rooms/{room_id}", json={"deck": "x" * 3000}, headers=ANA_A)
    assert "x" * 40 not in (await deck.json())["error"]["message"]
    ana = await connect(client, room_id, ANA_A)
    await next_of(ana, "room")
    await ana.send_json({"op": "o" * 3000, "id": "q"})
    error = await error_of(ana)
    assert "o" * 40 not in error["message"]
    await ana.close()


async def test_an_error_report_holds_no_request_content_and_equal_ones_are_counted(
    client: Client, backend: Backend
) -> None:
    """A database error quotes the value it refused (as PostgreSQL's do): the report keeps
    where it happened, its type and the route, never that value; the same error again is
    counted on the first report, not stored again."""

    async def refuse(_tenant: object, _owner: object, _issue: object, config: Any, *_: object):
        raise ValueError(f"invalid byte sequence for encoding UTF8: {config.deck.cards!r}")

    backend.rooms.open = refuse  # type: ignore[method-assign]
    deck = {"cards": [{"label": "Jane Roe", "value": 1}, {"label": "jane.roe@x.io", "value": 2}]}
    incidents = []
    for _ in range(3):
        response = await client.post(
            "/api/rooms", json={"issueKey": "DEMO-1", "deck": deck}, headers=scoped(ANA_A, "DEMO-1")
        )
        assert response.status == 500
        incidents.append((await response.json())["error"]["incident"])
    (report,) = backend.store.error_reports
    assert incidents == [report.id] * 3
    assert report.count == 3
    kept = report.where + report.message + report.code
    assert "Jane" not in kept
    assert "jane.roe" not in kept
    assert report.message == "builtins.ValueError on POST /api/rooms"
    assert "in refuse" in report.where, "the report still says where it happened"


@pytest.mark.parametrize("name", ["Jane's deck", "jane.roe@example.com", "fibonacci"])
async def test_a_custom_deck_takes_no_name_of_its_own(client: Client, name: str) -> None:
    room_id = await open_room(client)
    cards = [{"label": "1", "value": 1}, {"label": "2", "value": 2}]
    refused = await client.patch(
        f"/api/rooms/{room_id}", json={"deck": {"name": name, "cards": cards}}, headers=ANA_A
    )
    assert refused.status == 422, await refused.text()
    assert name not in await refused.text()
    accepted = await client.patch(
        f"/api/rooms/{room_id}", json={"deck": {"cards": cards}}, headers=ANA_A
    )
    assert (await accepted.json())["deck"]["name"] == "custom"
