"""The rule "comment on each estimated issue": one Jira comment per estimate, whatever the
retries and processes; a comment that fails never fails the estimate and is told."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from attrs import evolve

from agiletoolbox.domain.config import Role, RoomConfig
from agiletoolbox.domain.estimate import COMMENT_CLAIM, CommentState
from agiletoolbox.domain.view import view_of
from agiletoolbox.services.rooms import RoomService
from tests.unit.roomkit import ANA, BEN, ISSUE, STORY_POINTS, T0, TENANT
from tests.unit.test_session_service import World as SessionWorld

COMMENTING = RoomConfig(field_id=STORY_POINTS, comment_on_estimate=True)


class World(SessionWorld):
    """A site with DEMO-1 to DEMO-4 (story points on their edit screens)."""

    def process(self) -> RoomService:
        """One process's room service (processes share the store and Jira)."""
        return RoomService(self.store.unit_of_work, self.bus, self.clock, self.jira)


async def revealed(world: World, config: RoomConfig = COMMENTING) -> tuple[RoomService, str]:
    rooms = world.process()
    room = await rooms.open(TENANT, ANA, ISSUE, config)
    await rooms.join(TENANT, BEN, room.id, Role.VOTER)
    await rooms.vote(TENANT, ANA, room.id, "8")
    await rooms.vote(TENANT, BEN, room.id, "5")
    await rooms.reveal(TENANT, ANA, room.id)
    return rooms, room.id.value


async def test_a_written_estimate_gets_one_comment_of_numbers_only() -> None:
    world = World()
    rooms, _ = await revealed(world)
    room_id = next(iter(world.store.rooms))[1]
    done = await rooms.accept_estimate(TENANT, ANA, room_id, "8")
    assert done.estimate is not None
    assert (done.estimate.written, done.estimate.comment) == (True, CommentState.WRITTEN)
    (comment,) = world.jira.comments(TENANT, ISSUE)
    assert (comment.value, comment.field_id, comment.votes, comment.rounds) == (
        "8",
        STORY_POINTS,
        2,
        1,
    )
    assert comment.agreement is not None
    assert 0 < comment.agreement < 1
    view = view_of(done, ANA)
    assert view.estimate is not None
    assert view.estimate.comment == "written"
    # Accepting the same estimate again (a retry, a second tab) writes no second comment.
    again = await rooms.accept_estimate(TENANT, ANA, room_id, "8")
    assert again.estimate is not None
    assert again.estimate.comment is CommentState.WRITTEN
    assert len(world.jira.comments(TENANT, ISSUE)) == 1


async def test_without_the_rule_no_comment_is_written() -> None:
    world = World()
    rooms, _ = await revealed(world, RoomConfig(field_id=STORY_POINTS))
    room_id = next(iter(world.store.rooms))[1]
    done = await rooms.accept_estimate(TENANT, ANA, room_id, "8")
    assert done.estimate is not None
    assert done.estimate.comment is None
    assert world.jira.comments(TENANT, ISSUE) == []


async def test_a_refused_comment_leaves_the_estimate_written_and_is_tried_again() -> None:
    world = World()
    world.jira.fail_comments = 1
    rooms, _ = await revealed(world)
    room_id = next(iter(world.store.rooms))[1]
    done = await rooms.accept_estimate(TENANT, ANA, room_id, "8")
    assert done.estimate is not None
    assert (done.estimate.written, done.estimate.comment) == (True, CommentState.FAILED)
    assert world.jira.value(TENANT, ISSUE, STORY_POINTS) == 8
    assert view_of(done, ANA).estimate.comment == "failed"  # type: ignore[union-attr]
    again = await rooms.accept_estimate(TENANT, ANA, room_id, "8")
    assert again.estimate is not None
    assert again.estimate.comment is CommentState.WRITTEN
    assert len(world.jira.comments(TENANT, ISSUE)) == 1


async def test_two_processes_accepting_at_once_write_one_comment() -> None:
    world = World()
    await revealed(world)
    room_id = next(iter(world.store.rooms))[1]
    first, second = world.process(), world.process()
    await asyncio.gather(
        first.accept_estimate(TENANT, ANA, room_id, "8"),
        second.accept_estimate(TENANT, ANA, room_id, "8"),
    )
    assert len(world.jira.comments(TENANT, ISSUE)) == 1
    stored = world.store.rooms[(TENANT, room_id)].estimate
    assert stored is not None
    assert stored.comment is CommentState.WRITTEN


async def test_a_claim_left_pending_is_taken_again_only_after_a_while() -> None:
    """A process that stopped between taking the comment on and writing it."""
    world = World()
    rooms, _ = await revealed(world)
    room_id = next(iter(world.store.rooms))[1]
    world.jira.fail_comments = 1
    await rooms.accept_estimate(TENANT, ANA, room_id, "8")
    room = world.store.rooms[(TENANT, room_id)]
    assert room.estimate is not None
    estimate = room.estimate
    room.estimate = evolve(estimate, comment=CommentState.PENDING, comment_at=T0)
    assert not room.claim_comment(estimate, T0 + COMMENT_CLAIM - timedelta(seconds=1))
    assert room.claim_comment(estimate, T0 + COMMENT_CLAIM)
    assert not room.claim_comment(estimate, T0 + COMMENT_CLAIM), "taken: not twice"
    room.comment_settled(estimate, True, T0 + COMMENT_CLAIM)
    assert not room.claim_comment(estimate, T0 + 2 * COMMENT_CLAIM), "written: never again"
