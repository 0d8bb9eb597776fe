"""Writing an accepted estimate to Jira, and the comment on it.

The Jira calls happen outside any transaction; each step before and after is a room change
(`RoomChanges`): accept, mark written, take the comment on, settle it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from agiletoolbox.domain.errors import InvalidState, JiraError
from agiletoolbox.domain.estimate import Estimate
from agiletoolbox.domain.estimate_comment import comment_on
from agiletoolbox.domain.ids import AccountId, RoomId, TenantKey
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports import JiraClient, UnitOfWorkFactory, UserToken
from agiletoolbox.services.tenancy import require_tenant


class RoomChanges(Protocol):
    """How a room is changed (`rooms.RoomChanges`): read, act, save, commit, publish."""

    def apply(
        self, tenant: TenantKey, room_id: RoomId, action: Callable[[Room, datetime], object]
    ) -> Awaitable[Room]:
        """The room after `action`, committed."""
        ...


class EstimateWriter:
    """Accepts an estimate, writes it to Jira, confirms it, and comments on it."""

    def __init__(
        self, unit_of_work: UnitOfWorkFactory, changes: RoomChanges, jira: JiraClient
    ) -> None:
        self._uow = unit_of_work
        self._changes = changes
        self._jira = jira

    async def accept(
        self,
        tenant: TenantKey,
        actor: AccountId,
        room_id: RoomId,
        value: str,
        user_token: UserToken | None = None,
    ) -> Room:
        """Accept the estimate, write it to the room's Jira field, and confirm it landed.

        The Jira calls happen outside any transaction, as the person of `user_token` when
        their request brought one. When the write fails the estimate stays accepted and
        unwritten, and the error tells the owner what to do; accepting again retries the
        write. A retry after a failure between Jira's answer and our commit finds the same
        estimate accepted already: Jira is asked first, so a write that landed is not made
        twice.
        """
        async with self._uow() as uow:
            tenant_row = await require_tenant(uow, tenant)
            room = await uow.rooms.get(tenant, room_id)
        if room.config.field_id is None:
            raise InvalidState("choose the Jira field for estimates first")
        target = await self._jira.field_spec(tenant_row, room.issue_key, room.config.field_id)
        earlier = room.estimate
        accepted = (
            await self._changes.apply(
                tenant, room_id, lambda r, now: r.accept_estimate(actor, value, target, now)
            )
        ).estimate
        if accepted is None:  # pragma: no cover - accept_estimate always leaves one
            raise InvalidState("the estimate was not accepted")
        retried = earlier is not None and earlier.repeats(accepted)
        if not (
            retried
            and await self._jira.holds_estimate(tenant_row, room.issue_key, target, accepted.value)
        ):
            await self._jira.write_estimate(
                tenant_row, room.issue_key, target, accepted.value, user_token=user_token
            )
        written = await self._changes.apply(
            tenant, room_id, lambda r, now: r.mark_estimate_written(accepted, now)
        )
        if not written.config.comment_on_estimate:
            return written
        return await self._comment(tenant_row, written, accepted, user_token)

    async def _comment(
        self, site: Tenant, room: Room, accepted: Estimate, user_token: UserToken | None
    ) -> Room:
        """Add the Jira comment on the written estimate, once: the process that takes it
        on (a room change, so one process wins) writes it, unless Jira holds it already.
        A comment that fails never fails the estimate: the room records it, and the owner
        sees it; accepting the estimate again tries the comment again."""
        claimed = [False]

        def claim(r: Room, now: datetime) -> None:
            claimed[0] = r.claim_comment(accepted, now)

        room = await self._changes.apply(room.tenant, room.id, claim)
        if not claimed[0]:
            return room
        comment = comment_on(room, accepted)
        try:
            await self._jira.comment_estimate(site, room.issue_key, comment, user_token=user_token)
        except JiraError:
            done = False
        else:
            done = True
        return await self._changes.apply(
            room.tenant, room.id, lambda r, now: r.comment_settled(accepted, done, now)
        )
