"""A job lock within one process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class MemoryJobLock:
    """Grants each named job to one holder at a time in this process."""

    def __init__(self) -> None:
        self.held: set[str] = set()

    @asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[bool]:
        """Hold `job` for the block when nobody else does."""
        if job in self.held:
            yield False
            return
        self.held.add(job)
        try:
            yield True
        finally:
            self.held.discard(job)
