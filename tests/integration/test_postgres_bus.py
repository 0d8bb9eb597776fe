"""The LISTEN/NOTIFY room event bus: payloads, delivery, subscribers."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from agiletoolbox.adapters.postgres import PostgresEventBus, StorageUnavailable
from agiletoolbox.adapters.postgres.listener import parse_signal
from agiletoolbox.adapters.postgres.room_sql import CHANNEL
from agiletoolbox.domain.ids import RoomId, SessionId, TenantKey
from agiletoolbox.ports.events import RoomChange, RoomSignal, SessionChange

ROOM = "room-0000000000000001"


def test_a_payload_names_tenant_room_and_version() -> None:
    # Tenant keys hold ':' and '/': JSON keeps them apart from the other fields.
    payload = json.dumps({"t": "jira:site/one", "r": ROOM, "v": 7})
    assert parse_signal(payload) == RoomChange(TenantKey("jira:site/one"), RoomId(ROOM), 7)
    session = json.dumps({"t": "jira:site/one", "s": ROOM, "v": 3})
    assert parse_signal(session) == SessionChange(TenantKey("jira:site/one"), SessionId(ROOM), 3)


@pytest.mark.parametrize(
    "payload",
    [
        "a:b/c,room,3",
        "{}",
        json.dumps({"t": "a", "r": ROOM, "v": "3"}),
        json.dumps({"t": "a", "r": ROOM, "v": True}),
        json.dumps({"t": "a b", "r": ROOM, "v": 3}),
        json.dumps({"t": "a", "r": "short", "v": 3}),
        json.dumps({"t": "a", "s": "short", "v": 3}),
        json.dumps(["a", ROOM, 3]),
    ],
)
def test_anything_else_is_ignored(payload: str) -> None:
    assert parse_signal(payload) is None


@pytest.mark.postgres
async def test_signals_reach_every_subscriber_and_a_failing_one_harms_none(
    database_url: str,
) -> None:
    first: asyncio.Queue[RoomSignal] = asyncio.Queue()
    second: list[RoomSignal] = []

    def broken(_signal: RoomSignal) -> None:
        raise RuntimeError("subscriber bug")

    async with PostgresEventBus(database_url) as bus:
        bus.subscribe(broken)
        bus.subscribe(first.put_nowait)
        unsubscribe = bus.subscribe(second.append)
        await bus.publish([])
        sender = await asyncpg.connect(database_url)
        try:
            await sender.execute("SELECT pg_notify($1, 'not json')", CHANNEL)
            payload = json.dumps({"t": "site", "r": ROOM, "v": 2})
            await sender.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            assert await asyncio.wait_for(first.get(), 5) == RoomChange(
                TenantKey("site"), RoomId(ROOM), 2
            )
            unsubscribe()
            await sender.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            await asyncio.wait_for(first.get(), 5)
        finally:
            await sender.close()
    assert second == [RoomChange(TenantKey("site"), RoomId(ROOM), 2)]
    assert not bus.listening


async def test_a_listener_that_cannot_connect_fails_start() -> None:
    bus = PostgresEventBus("postgresql://nobody@127.0.0.1:1/none", start_timeout=0.3)
    with pytest.raises(StorageUnavailable):
        await bus.start()
    assert not bus.listening
