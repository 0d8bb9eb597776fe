"""Short-lived tickets that open a room's or a session's live socket.

A ticket is signed, not stored, so any process sharing the key can redeem it: it binds
tenant, person and the room (`r`) or session (`s`) and lives one minute. It never appears
in a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import timedelta

from agiletoolbox.adapters.http.caller import Caller, NotAuthenticated, project_key_of
from agiletoolbox.domain.errors import DomainError
from agiletoolbox.domain.ids import AccountId, IssueKey, RoomId, SessionId, TenantKey
from agiletoolbox.ports import Clock

MAX_TICKET_LENGTH = 2048


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TicketBook:
    """Issues and redeems socket tickets with an HMAC-SHA256 key."""

    def __init__(self, key: bytes, clock: Clock, lifetime: timedelta = timedelta(minutes=1)):
        if len(key) < 32:
            raise ValueError("the ticket key needs at least 32 bytes")
        self._key = key
        self._clock = clock
        self._lifetime = lifetime
        # Tickets redeemed here, until they expire: each opens one socket per process.
        self._spent: dict[str, int] = {}

    def issue(self, caller: Caller, room_id: RoomId) -> str:
        """A ticket for `caller` to open the live socket of `room_id`."""
        return self._issue(caller, "r", room_id.value)

    def issue_for_session(self, caller: Caller, session_id: SessionId) -> str:
        """A ticket for `caller` to open the live socket of the session."""
        return self._issue(caller, "s", session_id.value)

    def redeem(self, ticket: str, room_id: RoomId) -> Caller:
        """The caller a ticket names, if it is genuine, unexpired and for this room."""
        return self._redeem(ticket, "r", room_id.value, "room")

    def redeem_for_session(self, ticket: str, session_id: SessionId) -> Caller:
        """The caller a ticket names, if it is genuine, unexpired and for this session."""
        return self._redeem(ticket, "s", session_id.value, "session")

    def _issue(self, caller: Caller, kind: str, target: str) -> str:
        expires = self._clock.now() + self._lifetime
        payload = {
            "t": caller.tenant.value,
            "a": caller.account.value,
            "i": None if caller.issue_key is None else caller.issue_key.value,
            "p": None if caller.project_key is None else caller.project_key.value,
            kind: target,
            "e": int(expires.timestamp()),
            "n": secrets.token_urlsafe(8),
        }
        body = _encode(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def _redeem(self, ticket: str, kind: str, target: str, what: str) -> Caller:
        if len(ticket) > MAX_TICKET_LENGTH or ticket.count(".") != 1:
            raise NotAuthenticated("invalid ticket")
        body, signature = ticket.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise NotAuthenticated("invalid ticket")
        try:
            payload = json.loads(_decode(body))
            caller = Caller(
                TenantKey(payload["t"]),
                AccountId(payload["a"]),
                None if payload["i"] is None else IssueKey(payload["i"]),
                project_key=project_key_of(payload.get("p")),
            )
            expires, named, nonce = int(payload["e"]), payload.get(kind), str(payload["n"])
        except (ValueError, KeyError, TypeError, DomainError):
            raise NotAuthenticated("invalid ticket") from None
        if named != target:
            raise NotAuthenticated(f"the ticket is for another {what}")
        now = self._clock.now().timestamp()
        if now > expires:
            raise NotAuthenticated("the ticket has expired")
        self._forget_expired(now)
        if nonce in self._spent:
            raise NotAuthenticated("the ticket was used already; ask for a new one")
        self._spent[nonce] = expires
        return caller

    def _forget_expired(self, now: float) -> None:
        # Tickets are spent in about the order they expire: the oldest come first.
        while self._spent:
            nonce, expires = next(iter(self._spent.items()))
            if expires >= now:
                return
            del self._spent[nonce]

    def _sign(self, body: str) -> str:
        return _encode(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())
