"""Shared builders for room tests: people, a clock, a room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from attrs import evolve

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room

TENANT = TenantKey("tenant-one")
ISSUE = IssueKey("DEMO-1")
ROOM_ID = RoomId("room-0000000000000001")
STORY_POINTS = FieldId("customfield_10016")
ANA = AccountId("557058:ana")
BEN = AccountId("557058:ben")
CAI = AccountId("557058:cai")
DEE = AccountId("557058:dee")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    """A moment `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def new_room(config: RoomConfig | None = None, *voters: AccountId) -> Room:
    """A room owned by Ana with `voters` joined, everyone online (their sockets are open);
    events drained."""
    room = Room.open(TENANT, ROOM_ID, ISSUE, ANA, config or RoomConfig(), T0)
    for n, voter in enumerate(voters, start=1):
        room.join(voter, Role.VOTER, at(n))
    # Everyone's socket is open: set as a fixture, so versions count only the joins.
    for account, participant in room.participants.items():
        room.participants[account] = evolve(participant, online=True)
    room.drain_events()
    return room
