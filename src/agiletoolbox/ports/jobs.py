"""The job lock port: a job that several processes schedule runs in one of them at a time."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol


class JobLock(Protocol):
    """Grants a named job to one holder at a time, across every process of a deployment."""

    def exclusive(self, job: str) -> AbstractAsyncContextManager[bool]:
        """Try to hold `job` for the block: True when held, False when another holds it."""
        ...
