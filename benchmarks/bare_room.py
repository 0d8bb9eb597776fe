"""The bare room server: the naive design of a live room, the baseline `live.py` divides by.

One process, aiohttp and asyncpg, no layers: what someone would write to do our server's
job in the simplest way, so that each figure of ours reads as a ratio to it. It keeps
the sockets in a dict room -> sockets and the room (members, votes, version) in memory
while a socket of it is open; a vote is ONE statement that writes the vote (the same
card again withdraws it, as in ours), bumps `rooms.version`, reads the room's votes and
notifies on our channel, on our schema; then every socket of the room gets its own
masked full view, encoded with orjson, and the voter an ack. No listener (one process),
no presence writes (online means holding a socket here), no history, no other command:
a deliberately plain floor, not a second product.

Run by `live.py --bare-server PORT`, with the scratch database's URL in
`BARE_ROOM_DATABASE_URL` and the servers' shared secret key in `BARE_ROOM_SECRET_KEY`,
from which it derives the ticket key as `serve` does, so it redeems the load generator's
real tickets. SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from agiletoolbox.adapters.clock import SystemClock
from agiletoolbox.adapters.http.caller import NotAuthenticated
from agiletoolbox.adapters.http.tickets import TicketBook
from agiletoolbox.adapters.postgres import KeyRing
from agiletoolbox.adapters.postgres.room_sql import CHANNEL
from agiletoolbox.containers import ticket_key
from agiletoolbox.domain.errors import DomainError
from agiletoolbox.domain.ids import RoomId

HOST = "127.0.0.1"

# The room, its members and the open round's votes, read when a room's first socket opens.
LOAD = """
SELECT r.issue_key, r.owner, r.revealed, r.version, r.config -> 'deck' -> 'cards' AS cards,
       array(SELECT array[account_id, role] FROM participants AS p
             WHERE p.tenant_key = r.tenant_key AND p.room_id = r.room_id
             ORDER BY joined_at, account_id) AS members,
       array(SELECT array[account_id, label] FROM votes AS v
             WHERE v.tenant_key = r.tenant_key AND v.room_id = r.room_id) AS votes
FROM rooms AS r WHERE r.tenant_key = $1 AND r.room_id = $2
"""
# One vote, in one statement: the same card again withdraws it, any other replaces it;
# the version goes up, the other members' votes come back (the statement's snapshot does
# not see its own writes) and every listener of our channel hears of the change.
VOTE = f"""
WITH old AS (
    SELECT label FROM votes WHERE tenant_key = $1 AND room_id = $2 AND account_id = $3
), gone AS (
    DELETE FROM votes
    WHERE tenant_key = $1 AND room_id = $2 AND account_id = $3 AND label = $4
), put AS (
    INSERT INTO votes (tenant_key, room_id, account_id, label)
    SELECT $1::text, $2::text, $3::text, $4::text
    WHERE NOT EXISTS (SELECT FROM old WHERE label = $4)
    ON CONFLICT (tenant_key, room_id, account_id) DO UPDATE SET label = excluded.label
), room AS (
    UPDATE rooms SET version = version + 1, updated_at = now()
    WHERE tenant_key = $1 AND room_id = $2 RETURNING version
)
SELECT room.version, EXISTS (SELECT FROM old WHERE label = $4) AS withdrawn,
       array(SELECT array[account_id, label] FROM votes
             WHERE tenant_key = $1 AND room_id = $2 AND account_id <> $3) AS others,
       pg_notify('{CHANNEL}', json_build_object('t', $1::text, 'r', $2::text,
                                                'v', room.version)::text)
FROM room
"""  # noqa: S608 - constant SQL; values are $n parameters


@dataclass
class Room:
    """What one room's views are made of, and its open sockets (account, socket)."""

    id: str
    issue_key: str
    owner: str | None
    state: str
    version: int
    deck: list[dict[str, Any]]
    members: list[tuple[str, str]]
    votes: dict[str, str]
    sockets: list[tuple[str, web.WebSocketResponse]] = field(default_factory=list)

    def view(self, viewer: str, online: set[str]) -> dict[str, Any]:
        """The room as `viewer` may see it: everyone's card hidden but the viewer's own."""
        people = [
            {
                "accountId": account,
                "role": role,
                "online": account in online,
                "voted": account in self.votes,
                "card": self.votes.get(account) if account == viewer else None,
            }
            for account, role in self.members
        ]
        room = {
            "id": self.id,
            "issueKey": self.issue_key,
            "version": self.version,
            "state": self.state,
            "owner": self.owner,
            "deck": self.deck,
            "participants": people,
        }
        return {"type": "room", "room": room}


class BareRooms:
    """The server: sockets by room, one statement per vote, a full view per recipient."""

    def __init__(self, pool: asyncpg.Pool, tickets: TicketBook) -> None:
        self.pool = pool
        self.tickets = tickets
        self.rooms: dict[tuple[str, str], Room] = {}

    async def _load(self, tenant: str, room_id: str) -> Room | None:
        row = await self.pool.fetchrow(LOAD, tenant, room_id)
        if row is None:
            return None
        cards = orjson.loads(row["cards"])
        return Room(
            id=room_id,
            issue_key=row["issue_key"],
            owner=row["owner"],
            state="revealed" if row["revealed"] else "voting",
            version=row["version"],
            deck=[{"label": card["label"], "value": card.get("value")} for card in cards],
            members=[(account, role) for account, role in row["members"]],
            votes=dict(row["votes"]),
        )

    async def live(self, request: web.Request) -> web.StreamResponse:
        """One socket: the ticket checked, the full view sent, then votes until it closes."""
        room_id = request.match_info["room_id"]
        try:
            caller = self.tickets.redeem(request.query.get("ticket", ""), RoomId(room_id))
        except (NotAuthenticated, DomainError):
            return web.Response(status=401)
        tenant, account = caller.tenant.value, caller.account.value
        key = (tenant, room_id)
        room = self.rooms.get(key)
        if room is None:
            loaded = await self._load(tenant, room_id)
            if loaded is None:
                return web.Response(status=404)
            room = self.rooms.setdefault(key, loaded)  # another socket may have loaded it
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        room.sockets.append((account, ws))
        try:
            online = {person for person, _ in room.sockets}
            await _send(ws, room.view(account, online))
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._command(room, tenant, account, ws, orjson.loads(message.data))
        finally:
            room.sockets.remove((account, ws))
            if not room.sockets:
                self.rooms.pop(key, None)
        return ws

    async def _command(
        self, room: Room, tenant: str, account: str, ws: web.WebSocketResponse, body: Any
    ) -> None:
        request_id, card = body.get("id"), body.get("card")
        if body.get("op") != "vote" or not isinstance(card, str):
            error = {"status": 422, "code": "invalid_command", "message": "votes only"}
            await _send(ws, {"type": "error", "id": request_id, "error": error})
            return
        row = await self.pool.fetchrow(VOTE, tenant, room.id, account, card)
        assert row is not None, "the benchmark never removes a room"
        votes = dict(row["others"])
        if not row["withdrawn"]:
            votes[account] = card
        if row["version"] > room.version:  # versions a client sees only grow
            room.version, room.votes = row["version"], votes
        await _send(ws, {"type": "ack", "id": request_id})
        online = {person for person, _ in room.sockets}
        for person, socket in list(room.sockets):
            await _send(socket, room.view(person, online))

    async def close(self) -> None:
        """Close every socket with 1001 (going away)."""
        sockets = [ws for room in self.rooms.values() for _, ws in room.sockets]
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY) for ws in sockets), return_exceptions=True
        )


async def _send(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    """Encode and send one message; a socket closing meanwhile just misses it."""
    with contextlib.suppress(ConnectionError):
        await ws.send_frame(orjson.dumps(message), WSMsgType.TEXT)


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Reset nothing on release: a single statement leaves no session state (as in ours)."""


async def serve(port: int, budget: float) -> None:
    """Serve on 127.0.0.1:`port` until SIGTERM (or `budget` seconds, whatever happens)."""
    keys = KeyRing.parse(os.environ["BARE_ROOM_SECRET_KEY"])
    tickets = TicketBook(ticket_key(keys), SystemClock())
    pool = await asyncpg.create_pool(
        os.environ["BARE_ROOM_DATABASE_URL"], min_size=2, max_size=10, reset=_keep_session
    )
    rooms = BareRooms(pool, tickets)

    async def up(_request: web.Request) -> web.Response:
        return web.Response(text="up")

    app = web.Application()
    app.router.add_get("/api/rooms/{room_id}/live", rooms.live)
    app.router.add_get("/healthz", up)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=budget)
    await rooms.close()
    await runner.cleanup()
    await pool.close()
