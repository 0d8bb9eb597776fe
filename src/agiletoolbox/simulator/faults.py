"""Switchable misbehaviour: what a test turns on to see the app cope with a bad day at Jira.

One `Faults` per site (and one for the personal-data API). Counted faults answer the next
N calls and then stop; `calls=None` keeps them on until `clear()`. Order when several
are on: rate limit (429), unavailable (503), server error (500).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from attrs import define, field, frozen


@frozen
class Failure:
    """An answer a fault gives instead of the real one."""

    status: int
    headers: dict[str, str]
    body: Mapping[str, object]

    def encoded(self) -> bytes:
        """The body as JSON bytes."""
        return json.dumps(self.body).encode("utf-8")


def _count(calls: int | None) -> float:
    if calls is None:
        return math.inf
    if calls < 0:
        raise ValueError("calls must be zero or more, or None for always")
    return float(calls)


@define
class Faults:
    """The faults switched on for one site; all off at first."""

    delay: float = 0.0
    """Seconds every answer waits before it is sent (a slow Jira)."""

    ignore_writes: bool = False
    """Edits answer 204 but change nothing (to exercise the read-back)."""

    off_screen: set[str] = field(factory=set)
    """Field ids taken off every edit screen: editmeta omits them, edits are refused."""

    _rate_limited: float = 0.0
    _retry_after: int | None = None
    _unavailable: float = 0.0
    _unavailable_retry_after: int | None = None
    _server_errors: float = 0.0

    def rate_limit(self, calls: int | None = 1, retry_after: int | None = 1) -> None:
        """Answer the next `calls` calls 429, with `Retry-After: retry_after` if given."""
        self._rate_limited = _count(calls)
        self._retry_after = retry_after

    def unavailable(self, calls: int | None = 1, retry_after: int | None = None) -> None:
        """Answer the next `calls` calls 503, with `Retry-After` if given."""
        self._unavailable = _count(calls)
        self._unavailable_retry_after = retry_after

    def fail(self, calls: int | None = 1) -> None:
        """Answer the next `calls` calls 500."""
        self._server_errors = _count(calls)

    def slow(self, seconds: float) -> None:
        """Delay every answer by `seconds` (0 to stop)."""
        self.delay = max(0.0, seconds)

    def hide_field(self, field_id: str) -> None:
        """Take `field_id` off the edit screen."""
        self.off_screen.add(field_id)

    def show_field(self, field_id: str) -> None:
        """Put `field_id` back on the edit screen."""
        self.off_screen.discard(field_id)

    def clear(self) -> None:
        """Switch every fault off."""
        self.delay, self.ignore_writes = 0.0, False
        self.off_screen.clear()
        self._rate_limited = self._unavailable = self._server_errors = 0.0

    def next_failure(self, now: datetime | None = None) -> Failure | None:
        """The failure for this call, if a counted fault is on; it counts the call."""
        if self._rate_limited > 0:
            self._rate_limited -= 1
            return _rate_limited(self._retry_after, now or datetime.now(UTC))
        if self._unavailable > 0:
            self._unavailable -= 1
            headers = _retry_headers(self._unavailable_retry_after)
            return Failure(503, headers, {"errorMessages": ["Service Unavailable"], "errors": {}})
        if self._server_errors > 0:
            self._server_errors -= 1
            body = {"errorMessages": ["Internal server error"], "errors": {}}
            return Failure(500, {}, body)
        return None


def _retry_headers(retry_after: int | None) -> dict[str, str]:
    return {} if retry_after is None else {"Retry-After": str(retry_after)}


def _rate_limited(retry_after: int | None, now: datetime) -> Failure:
    reset = now + timedelta(seconds=retry_after or 1)
    headers = {
        **_retry_headers(retry_after),
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
        "RateLimit-Reason": "jira-burst-based",
    }
    return Failure(429, headers, {"errorMessages": ["Rate limit exceeded."], "errors": {}})
