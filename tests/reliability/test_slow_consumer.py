"""A socket that stops reading in a busy room: the others' p95 stays within 10%.

One member votes as fast as the answers come back; seven others read their sockets all
along. The vote-to-peer latency (from the vote's request until a peer holds the version it
made) is measured in alternating phases, with and without a ninth member whose
socket never reads (its kernel buffers fill, its queue coalesces to the newest view).
Views are a few kilobytes (a deck of long labels), so the stalled socket fills quickly.
"""

from __future__ import annotations

import asyncio
import bisect
import time

import aiohttp
from attrs import define

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.domain.config import RoomConfig
from agiletoolbox.domain.deck import Deck
from agiletoolbox.domain.ids import AccountId, RoomId
from tests.http.raw_socket import RawWebSocket
from tests.reliability.conftest import Figures
from tests.reliability.kit import FULL, Fleet, Seat, call, percentile, sized

PHASES = sized(4, 10)
PHASE_SECONDS = sized(2.5, 10.0)
TARGET = 1.10
BIG_DECK = Deck.custom([(f"card-{n:02d}-pad", n) for n in range(39)])
CARDS = ("card-01-pad", "card-02-pad")


async def measure(
    fleet: Fleet, session: aiohttp.ClientSession, voter: Voter, peers: list[Seat], seconds: float
) -> list[float]:
    """Vote for `seconds`; each vote's latency to each peer."""
    votes: list[tuple[int, float]] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        voter.turn += 1
        at = time.perf_counter()
        status, view = await call(
            session,
            "PUT",
            voter.url,
            headers=fleet.auth(voter.account),
            body={"card": CARDS[voter.turn % 2]},
        )
        assert status == 200, view
        votes.append((view["version"], at))
    await asyncio.sleep(0.3)  # the last views arrive
    latencies: list[float] = []
    for peer in peers:
        versions = sorted(peer.seen_at)
        for version, at in votes:
            index = bisect.bisect_left(versions, version)
            assert index < len(versions), "a peer never saw a vote"
            latencies.append(peer.seen_at[versions[index]] - at)
    return latencies


@define
class Voter:
    """The member who votes, over REST (the answer names the version the vote made)."""

    account: str
    url: str
    turn: int = 0


async def test_a_stalled_reader_holds_back_no_one(
    fleet: Fleet, session: aiohttp.ClientSession, figures: Figures
) -> None:
    ((room_id, people),) = await fleet.seed(1, 9, config=RoomConfig(deck=BIG_DECK))
    url = fleet.urls[0]
    voter = Voter(people[0], f"{url}/api/rooms/{room_id}/vote")
    peers = [await fleet.seat(session, url, room_id, p) for p in people[1:8]]
    ticket = fleet.tickets.issue(Caller(fleet.tenant, AccountId(people[8])), RoomId(room_id))
    port = int(url.rsplit(":", 1)[1])
    without: list[float] = []
    with_slow: list[float] = []
    try:
        for phase in range(PHASES):
            if phase % 2 == 0:
                without += await measure(fleet, session, voter, peers, PHASE_SECONDS)
                continue
            target = f"/api/rooms/{room_id}/live?ticket={ticket}"
            async with await RawWebSocket.open("127.0.0.1", port, target):
                with_slow += await measure(fleet, session, voter, peers, PHASE_SECONDS)
            ticket = fleet.tickets.issue(
                Caller(fleet.tenant, AccountId(people[8])), RoomId(room_id)
            )
    finally:
        await asyncio.gather(*(peer.close() for peer in peers))
    base, slow = percentile(without, 0.95), percentile(with_slow, 0.95)
    figures(
        "slow consumer in a busy room",
        samples=len(without) + len(with_slow),
        p50_without_ms=percentile(without, 0.5) * 1000,
        p95_without_ms=base * 1000,
        p50_with_ms=percentile(with_slow, 0.5) * 1000,
        p95_with_ms=slow * 1000,
        p95_ratio=slow / base,
    )
    if FULL:
        assert slow <= base * TARGET
    else:
        # Short phases on a shared 2-core machine: p95 moves by more than 10% between two
        # identical phases, so the short run only guards against a reader that blocks.
        assert slow <= base * 2 + 0.010
