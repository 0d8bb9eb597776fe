"""How much one client may ask of a process: sockets, commands, requests.

Every limit is a setting with a sane default and counts its refusals in the metric
`agiletoolbox_limited_total{limit=...}`. Rates are token buckets: a client may burst up
to a bucket's size, then goes at the refill rate; the refusal says when to try again
(`Retry-After`, or `retryAfter` on the live socket). Limits are per process, as the
sockets and the requests they guard are; the rooms and saved defaults a site may keep are
bounded in the store (see `services/rooms.py`).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from attrs import define, field, frozen
from prometheus_client import Counter

LIMITED = Counter(
    "agiletoolbox_limited",
    "Requests, commands and sockets refused by a limit, by limit",
    ["limit"],
)

BUCKETS_KEPT = 100_000
"""The most clients whose buckets a table keeps (the longest idle go first: a full
bucket forgotten is the same as a full bucket kept)."""


@frozen
class Limits:
    """What one client may ask of a process (each a setting; see `docs/operations.md`)."""

    sockets_per_person: int = 8
    """Open live sockets of one person in one room (tabs, devices)."""
    sockets_per_process: int = 20_000
    """Open live sockets in all."""
    commands_per_second: float = 10.0
    """Commands one socket may send per second, after a burst of `command_burst`."""
    command_burst: int = 20
    flood_close_after: int = 50
    """Commands refused in a row after which the socket is closed with 1008."""
    requests_per_minute_person: int = 600
    """REST requests of one person (across their sites' tabs) per minute."""
    requests_per_minute_site: int = 12_000
    """REST requests of one site (everyone on it) per minute."""


@define
class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second; each request takes one."""

    rate: float
    capacity: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """Take a token: 0 when there was one, else the seconds until there is."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@define
class BucketTable:
    """A token bucket per key (a person, a site), the least recently used forgotten first."""

    rate: float
    capacity: float
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[Hashable, TokenBucket] = field(factory=OrderedDict)

    def take(self, key: Hashable) -> float:
        """Take a token of `key`'s bucket: 0, or the seconds to wait."""
        now = self.clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(self.rate, self.capacity, self.capacity, now)
            while len(self._buckets) >= BUCKETS_KEPT:
                self._buckets.popitem(last=False)
        self._buckets[key] = bucket
        return bucket.take(now)


def per_minute(count: int, clock: Callable[[], float] = time.monotonic) -> BucketTable:
    """Buckets for `count` requests a minute, with a burst of a tenth of a minute's."""
    return BucketTable(count / 60.0, max(10.0, count / 10.0), clock)


class RateLimited(Exception):
    """A limit refused the request; answered 429 with `Retry-After` (or, for a socket
    that cannot open, before the upgrade)."""

    def __init__(self, limit: str, seconds: float, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.seconds = retry_after(seconds)
        self.message = message


@define
class RestRates:
    """The REST request buckets of a process: per person (on a site) and per site."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    people: BucketTable = field(init=False)
    sites: BucketTable = field(init=False)

    def __attrs_post_init__(self) -> None:
        self.people = per_minute(self.limits.requests_per_minute_person, self.clock)
        self.sites = per_minute(self.limits.requests_per_minute_site, self.clock)

    def take(self, site: Hashable, person: Hashable) -> None:
        """Count a request of `person` on `site`; `RateLimited` when either is over. A
        person's refused requests take nothing of the site's rate, so one client cannot
        spend it for everyone else."""
        wait = self.people.take((site, person))
        if wait:
            raise RateLimited("requests_per_person", wait, "too many requests")
        wait = self.sites.take(site)
        if wait:
            raise RateLimited("requests_per_site", wait, "too many requests from this site")


def retry_after(seconds: float) -> int:
    """Whole seconds to wait (at least 1), as `Retry-After` and `retryAfter` say it."""
    return max(1, math.ceil(seconds))
