"""The due jobs a scheduled Forge tick starts: the retention purge and personal-data reporting.

Every installation's hourly tick reaches the remote, so with many sites ticks arrive
all the time: the jobs start at most once every `every` seconds in a process, and across
processes the job lock lets one run each. They run in the background - a tick must be
answered within Forge's five seconds - and are cancelled when the app shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from attrs import define, field

from agiletoolbox.ports import JobLock
from agiletoolbox.services.errors import ErrorReportService, job_failed
from agiletoolbox.services.personal_data import PersonalDataService
from agiletoolbox.services.privacy import PrivacyService

log = logging.getLogger("agiletoolbox.forge")

JOBS_EVERY_SECONDS = 15 * 60.0


@define
class DueJobs:
    """Starts the due jobs in the background, at most once per interval in this process."""

    privacy: PrivacyService
    reporting: PersonalDataService
    lock: JobLock
    errors: ErrorReportService | None = None
    every: float = JOBS_EVERY_SECONDS
    clock: Callable[[], float] = time.monotonic
    _last: float | None = field(default=None, init=False)
    _running: set[asyncio.Task[None]] = field(factory=set, init=False, repr=False)

    def kick(self) -> bool:
        """Start the jobs unless they ran (or started) less than `every` seconds ago."""
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            return False
        self._last = now
        task = asyncio.create_task(self._run())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return True

    async def wait(self) -> None:
        """Wait for the jobs started so far (tests, and a graceful stop)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def close(self) -> None:
        """Cancel the jobs still running."""
        for task in list(self._running):
            task.cancel()
        await self.wait()

    async def _run(self) -> None:
        try:
            purged = await self.privacy.purge_if_first(self.lock)
            if purged is not None:
                log.info(
                    "purge removed %d uninstalled tenant(s), %d idle room(s), %d error report(s)",
                    purged.tenants,
                    purged.rooms,
                    purged.error_reports,
                )
            async with self.lock.exclusive("report-accounts") as mine:
                summary = await self.reporting.report_due() if mine else None
            for failure in summary.failed if summary is not None else ():
                log.error("personal-data reporting failed for %s", failure)
        except Exception as error:  # noqa: BLE001 - stored; the next tick tries again
            await job_failed(self.errors, "the jobs of a Forge tick", error)
