"""Optimistic concurrency: a unit of work that lost a race runs again on fresh state.

Every write is guarded by the version it read (rooms, tenants, migrations); a writer that
finds the version moved raises `ConcurrentChange` at commit and nothing of it persists.
The use cases run such a unit of work again, a bounded number of times, through
`retrying`: the one place that decides how often a lost race is worth another try.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from agiletoolbox.domain.errors import ConcurrentChange

T = TypeVar("T")

MAX_ATTEMPTS = 8
"""Two people acting on one room at the same instant is common (everyone votes at once),
and several processes may serve them: a handful of tries on fresh state resolves that
without surfacing a conflict."""


async def retrying(attempt: Callable[[], Awaitable[T]], *, attempts: int = MAX_ATTEMPTS) -> T:
    """The result of `attempt()`, run again while it raises `ConcurrentChange`, at most
    `attempts` times in all (the last race lost is raised)."""
    for _ in range(attempts - 1):
        try:
            return await attempt()
        except ConcurrentChange:
            continue
    return await attempt()
