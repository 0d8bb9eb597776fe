"""The room commands: one table, read by the live socket, the REST routes and the OpenAPI
document alike.

Each command has the `op` a socket message names, the body class its arguments are
structured into (None: it takes none), the use case it runs, and the REST route that runs
it too. A command added here is a socket op, a route and a documented operation at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from attrs import frozen

from agiletoolbox.adapters.http.caller import Caller
from agiletoolbox.adapters.http.wire import (
    ConfigBody,
    EstimateBody,
    JoinBody,
    RoundBody,
    TimerBody,
    VoteBody,
    estimate_text,
    room_config,
)
from agiletoolbox.domain.config import Role
from agiletoolbox.domain.ids import RoomId
from agiletoolbox.domain.room import Room
from agiletoolbox.services.rooms import Known, RoomService

UseCase = Callable[[RoomService, Caller, RoomId, Any, Known], Awaitable[Room]]


@frozen
class Command:
    """One thing a person does in a room, by socket message or by REST call."""

    op: str
    """The socket message's `op`."""
    body: type[Any] | None
    """The class the arguments are structured into (None: the command takes none)."""
    run: UseCase
    """The use case, given the service, the caller, the room, the structured body and the
    room as this process last saw it committed (if it did)."""
    method: str
    """The REST route's method; its path is the room's path plus `path`."""
    path: str
    summary: str

    @property
    def body_optional(self) -> bool:
        """Whether the body may be left out (every field of its class has a default)."""
        return self.body is not None and all(
            a.default is not attrs.NOTHING for a in attrs.fields(self.body)
        )

    @property
    def owner_only(self) -> bool:
        """Whether only the room's owner may run it (documented with the route)."""
        return "owner only" in self.summary


def _vote(
    service: RoomService, c: Caller, room: RoomId, body: VoteBody, known: Known
) -> Awaitable[Room]:
    return service.vote(c.tenant, c.account, room, body.card, known)


def _withdraw(
    service: RoomService, c: Caller, room: RoomId, _body: None, known: Known
) -> Awaitable[Room]:
    return service.withdraw(c.tenant, c.account, room, known)


def _join(
    service: RoomService, c: Caller, room: RoomId, body: JoinBody, known: Known
) -> Awaitable[Room]:
    return service.join(c.tenant, c.account, room, Role(body.role), known)


def _leave(
    service: RoomService, c: Caller, room: RoomId, _body: None, known: Known
) -> Awaitable[Room]:
    return service.leave(c.tenant, c.account, room, known)


def _reveal(
    service: RoomService, c: Caller, room: RoomId, body: RoundBody, known: Known
) -> Awaitable[Room]:
    return service.reveal(c.tenant, c.account, room, known, round_=body.round)


def _reset(
    service: RoomService, c: Caller, room: RoomId, body: RoundBody, known: Known
) -> Awaitable[Room]:
    return service.reset(c.tenant, c.account, room, known, round_=body.round)


def _start_timer(
    service: RoomService, c: Caller, room: RoomId, body: TimerBody, known: Known
) -> Awaitable[Room]:
    return service.start_timer(c.tenant, c.account, room, body.seconds, known)


def _extend_timer(
    service: RoomService, c: Caller, room: RoomId, body: TimerBody, known: Known
) -> Awaitable[Room]:
    return service.extend_timer(c.tenant, c.account, room, body.seconds, known)


def _stop_timer(
    service: RoomService, c: Caller, room: RoomId, _body: None, known: Known
) -> Awaitable[Room]:
    return service.stop_timer(c.tenant, c.account, room, known)


def _take_control(
    service: RoomService, c: Caller, room: RoomId, _body: None, known: Known
) -> Awaitable[Room]:
    return service.take_control(c.tenant, c.account, room, known)


def _estimate(
    service: RoomService, c: Caller, room: RoomId, body: EstimateBody, known: Known
) -> Awaitable[Room]:
    # The estimate is checked against the field Jira has now: it reads the room itself.
    return service.accept_estimate(
        c.tenant, c.account, room, estimate_text(body), user_token=c.user_token
    )


def _configure(
    service: RoomService, c: Caller, room: RoomId, body: ConfigBody, known: Known
) -> Awaitable[Room]:
    return service.configure(c.tenant, c.account, room, lambda current: room_config(body, current))


def _remove(
    service: RoomService, c: Caller, room: RoomId, _body: None, known: Known
) -> Awaitable[Room]:
    return service.remove(c.tenant, c.account, room, known)


COMMANDS: tuple[Command, ...] = (
    Command("vote", VoteBody, _vote, "PUT", "/vote",
            "Hold a card (holding it already changes nothing)"),
    Command("withdraw", None, _withdraw, "DELETE", "/vote", "Withdraw the caller's vote"),
    Command("join", JoinBody, _join, "POST", "/join",
            "Join as voter or observer, or switch role"),
    Command("leave", None, _leave, "POST", "/leave", "Leave the room"),
    Command("reveal", RoundBody, _reveal, "POST", "/reveal",
            "Reveal the votes of the round (owner only)"),
    Command("reset", RoundBody, _reset, "POST", "/reset",
            "End the round and start a new one (owner only)"),
    Command("timer-start", TimerBody, _start_timer, "POST", "/timer",
            "Start the round's timer, from 10 s to an hour (owner only)"),
    Command("timer-extend", TimerBody, _extend_timer, "POST", "/timer/extend",
            "Give the running timer more seconds (owner only)"),
    Command("timer-stop", None, _stop_timer, "DELETE", "/timer",
            "Stop the round's timer (owner only)"),
    Command("take-control", None, _take_control, "POST", "/take-control",
            "Become the owner while the owner is away"),
    Command("estimate", EstimateBody, _estimate, "POST", "/estimate",
            "Accept the estimate, write it to Jira, read it back (owner only)"),
    Command("configure", ConfigBody, _configure, "PATCH", "",
            "Configure the room (owner only)"),
    Command("remove", None, _remove, "DELETE", "",
            "Remove the room and everything in it (owner only)"),
)  # fmt: skip
"""Every room command, in the order the documentation lists them."""

BY_OP: dict[str, Command] = {command.op: command for command in COMMANDS}
