"""Malformed and hostile input over HTTP and WebSocket: clean refusals, bounded memory.

While one room is attacked (oversized, binary and broken bodies, huge headers, floods of
requests and of socket commands, a page of another site), a second room goes on voting:
every one of its votes succeeds and reaches its peers promptly. The server's memory after
the attack stays within a bound of what it was before.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections import Counter

import aiohttp
import pytest

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.live_socket import CLOSE_TOO_SLOW
from agiletoolbox.domain.ids import AccountId, RoomId
from tests.http.raw_socket import CLOSE, TEXT, RawWebSocket
from tests.livekit import answers_a_command
from tests.reliability.conftest import Figures
from tests.reliability.kit import Fleet, Seat, bounded, call, percentile, rss_kib, sized

FLOOD = sized(1000, 10000)
TICKET_REUSE = 50
TABS = 20
SOCKETS_PER_PERSON = 8  # the product's default (AGILETOOLBOX_LIMIT_SOCKETS_PER_PERSON)
CLOSE_POLICY = 1008
QUIET_SECONDS = sized(3, 10)
ROUNDS = sized(2, 10)
MEMORY_BOUND_KIB = 64 * 1024
CALM_P95_BOUND = 0.5


class CalmRoom:
    """The room next door: one member votes every 50 ms, the others watch."""

    def __init__(self, fleet: Fleet, session: aiohttp.ClientSession, room_id: str) -> None:
        self.fleet = fleet
        self.session = session
        self.room_id = room_id
        self.failures = 0
        self.latencies: list[float] = []
        self.running = True

    async def run(self, voter: str, peers: list[Seat]) -> None:
        turn = 0
        url = f"{self.fleet.urls[0]}/api/rooms/{self.room_id}/vote"
        while self.running:
            turn += 1
            at = time.perf_counter()
            status, view = await call(
                self.session,
                "PUT",
                url,
                headers=self.fleet.auth(voter),
                body={"card": ("3", "5")[turn % 2]},
            )
            if status != 200:
                self.failures += 1
                continue
            version = view["version"]
            while not all(p.version >= version for p in peers):
                await asyncio.sleep(0.002)
                if time.perf_counter() - at > 10:
                    break
            self.latencies.append(time.perf_counter() - at)
            await asyncio.sleep(0.05)


async def http_attacks(
    fleet: Fleet, session: aiohttp.ClientSession, room_id: str, who: str, flooding: str
) -> Counter[int]:
    """Each malformed request once, then a flood; the statuses they got."""
    url = f"{fleet.urls[0]}/api/rooms/{room_id}/vote"
    auth = fleet.auth(who)
    statuses: Counter[int] = Counter()
    cases: list[tuple[dict[str, str], bytes, int]] = [
        (
            {**auth, "Content-Type": "application/json"},
            b'{"card": "' + b"5" * (1 << 20) + b'"}',
            413,
        ),
        ({**auth, "Content-Type": "application/octet-stream"}, bytes(range(256)) * 4, 415),
        ({**auth, "Content-Type": "application/json"}, b'{"card": ', 400),
        ({**auth, "Content-Type": "application/json"}, b'\xff\xfe{"card"}', 400),
        ({**auth, "Content-Type": "application/json"}, b'{"card": ["5"]}', 422),
        ({"Authorization": "JWT not.a.token", "Content-Type": "application/json"}, b"{}", 401),
        ({**auth, "X-Padding": "x" * 100_000}, b"{}", 400),
    ]
    for headers, body, expected in cases:
        try:
            async with session.put(url, data=io.BytesIO(body), headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
                assert response.status == expected, (headers.keys(), response.status)
                if response.content_type == "application/json":
                    error = (await response.json())["error"]
                    assert set(error) >= {"code", "message"}
        except aiohttp.ClientError:
            statuses[0] += 1  # the server hung up on a request it would not read

    async def one_bad() -> None:
        status, _ = await call(
            session, "PUT", url, headers={"Authorization": "JWT x"}, body={"card": "5"}
        )
        statuses[status] += 1

    await bounded((one_bad for _ in range(FLOOD)), 32)

    flooder = fleet.auth(flooding)

    async def one_genuine() -> None:
        status, _ = await call(session, "PUT", url, headers=flooder, body={"card": "5"})
        statuses[status] += 1

    # A genuine client that floods: its requests past its rate get 429.
    before = statuses[429]
    await bounded((one_genuine for _ in range(FLOOD)), 32)
    assert statuses[429] - before >= FLOOD // 2, statuses
    return statuses


async def socket_attacks(
    fleet: Fleet, session: aiohttp.ClientSession, room_id: str, who: str
) -> Counter[str]:
    """Oversized, binary, broken and flooding socket traffic; how each socket ended."""
    outcomes: Counter[str] = Counter()
    url = fleet.urls[0]

    async def fresh() -> Seat:
        return await fleet.seat(session, url, room_id, who)

    seat = await fresh()
    await seat.ws.send_str(json.dumps({"op": "vote", "card": "5", "id": "x" * 100_000}))
    await asyncio.wait_for(seat.closed.wait(), 10)
    outcomes[f"oversized->{seat.close_code}"] += 1
    assert seat.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG

    seat = await fresh()
    await seat.ws.send_bytes(b"\x00\x01binary")
    await asyncio.wait_for(seat.closed.wait(), 10)
    outcomes[f"binary->{seat.close_code}"] += 1
    assert seat.close_code == aiohttp.WSCloseCode.UNSUPPORTED_DATA

    seat = await fresh()
    for broken in ("{", "[]", "\u00ff\u0000"):
        await seat.ws.send_str(broken)  # answered with an error that names no id
    for n, wrong in enumerate(({"op": 5}, {"op": "vote", "card": {}}, {"op": "dance"})):
        answer = await seat.command(wrong.pop("op"), f"wrong-{n}", **wrong)  # type: ignore[arg-type]
        assert answer["type"] == "error", answer
        assert answer["error"]["status"] == 422, answer
    assert (await seat.command("sync", "alive"))["type"] == "ack", "bad JSON keeps the socket"
    outcomes["broken-json->open"] += 1
    await seat.close()

    # A flood from a peer that never reads: answered in order, or cut off as too slow.
    ticket = fleet.tickets.issue(*_caller(fleet, who, room_id))
    port = int(url.rsplit(":", 1)[1])
    async with await RawWebSocket.open(
        "127.0.0.1", port, f"/api/rooms/{room_id}/live?ticket={ticket}"
    ) as raw:
        try:
            for n in range(FLOOD):
                await raw.send_text(json.dumps({"op": "vote", "card": "5", "id": n}))
        except (ConnectionError, OSError):
            pass
        answered = 0
        async with asyncio.timeout(FLOOD / 50):  # a reader with a 4 KiB window
            while answered < FLOOD:
                opcode, payload = await raw.receive()
                if opcode == CLOSE:
                    code = int.from_bytes(payload[:2], "big") if payload else None
                    outcomes[f"flood->closed {code}"] += 1
                    # Cut off as too slow, or for going on past the rate (1008).
                    assert code in (None, CLOSE_TOO_SLOW, CLOSE_POLICY)
                    break
                if opcode == TEXT and answers_a_command(json.loads(payload)):
                    answered += 1
            else:
                outcomes["flood->all answered"] += 1

    # One ticket opens one socket, however many try it at once.
    ticket = fleet.tickets.issue(*_caller(fleet, who, room_id))
    tries = await asyncio.gather(
        *(_open(session, url, room_id, ticket) for _ in range(TICKET_REUSE)),
    )
    assert sorted(status for status, _ in tries) == [101] + [401] * (TICKET_REUSE - 1)
    outcomes["ticket-reuse->401"] += TICKET_REUSE - 1
    await asyncio.gather(*(ws.close() for _, ws in tries if ws is not None))

    # One person's tabs: at most the limit's sockets in a room; more get 429.
    await asyncio.sleep(0.2)  # the sockets closed above are gone on the server too
    tabs = [
        await _open(session, url, room_id, fleet.tickets.issue(*_caller(fleet, who, room_id)))
        for _ in range(TABS)
    ]
    statuses = Counter(status for status, _ in tabs)
    assert statuses == {101: SOCKETS_PER_PERSON, 429: TABS - SOCKETS_PER_PERSON}, statuses
    outcomes["tabs->429"] += statuses[429]
    await asyncio.gather(*(ws.close() for _, ws in tabs if ws is not None))

    # A page of another site gets no socket, with a genuine ticket or not.
    ticket = fleet.tickets.issue(*_caller(fleet, who, room_id))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(
            f"{url}/api/rooms/{room_id}/live",
            params={"ticket": ticket},
            origin="https://evil.example",
        )
    assert refused.value.status == 403
    outcomes[f"wrong-origin->{refused.value.status}"] += 1
    return outcomes


async def _open(
    session: aiohttp.ClientSession, url: str, room_id: str, ticket: str
) -> tuple[int, aiohttp.ClientWebSocketResponse | None]:
    try:
        ws = await session.ws_connect(f"{url}/api/rooms/{room_id}/live", params={"ticket": ticket})
    except aiohttp.WSServerHandshakeError as refused:
        return refused.status, None
    return 101, ws


def _caller(fleet: Fleet, who: str, room_id: str) -> tuple[Caller, RoomId]:
    return Caller(fleet.tenant, AccountId(who)), RoomId(room_id)


async def test_hostile_input_is_refused_cleanly_and_spares_the_other_rooms(
    product_fleet: Fleet, session: aiohttp.ClientSession, figures: Figures
) -> None:
    fleet = product_fleet  # the product's default limits, as a deployment runs them
    (attacked, (_, attacker, flooder, *_)), (calm_id, calm_people) = await fleet.seed(2, 4)
    peers = [await fleet.seat(session, fleet.urls[0], calm_id, p) for p in calm_people[1:]]
    calm = CalmRoom(fleet, session, calm_id)
    calm_task = asyncio.create_task(calm.run(calm_people[0], peers))
    await asyncio.sleep(QUIET_SECONDS)  # the room next door alone, for comparison
    quiet = len(calm.latencies)
    before = rss_kib(fleet.pid())
    http: Counter[int] = Counter()
    sockets: Counter[str] = Counter()
    try:
        for _ in range(ROUNDS):
            http += await http_attacks(fleet, session, attacked, attacker, flooder)
            sockets += await socket_attacks(fleet, session, attacked, attacker)
    finally:
        calm.running = False
        await calm_task
        await asyncio.gather(*(peer.close() for peer in peers))
    after = rss_kib(fleet.pid())
    figures(
        "hostile input",
        rounds=ROUNDS,
        http_statuses=dict(sorted(http.items())),
        socket_outcomes=dict(sorted(sockets.items())),
        rss_before_mib=before / 1024,
        rss_after_mib=after / 1024,
        calm_votes=len(calm.latencies),
        calm_failures=calm.failures,
        calm_p95_ms=percentile(calm.latencies, 0.95) * 1000,
        calm_p99_quiet_ms=percentile(calm.latencies[:quiet], 0.99) * 1000,
        calm_p99_attacked_ms=percentile(calm.latencies[quiet:], 0.99) * 1000,
    )
    assert not any(status >= 500 for status in http)
    assert calm.failures == 0
    assert percentile(calm.latencies, 0.95) <= CALM_P95_BOUND
    assert after - before <= MEMORY_BOUND_KIB
