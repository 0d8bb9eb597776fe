"""Error reports: unexpected failures recorded, scrubbed, for operators to read."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Sequence

from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.ports import Clock, UnitOfWorkFactory

log = logging.getLogger("agiletoolbox.jobs")


class ErrorReportService:
    """Records scrubbed error reports and lists the recent ones."""

    def __init__(self, unit_of_work: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = unit_of_work
        self._clock = clock

    async def record(
        self,
        *,
        where: str,
        message: str,
        code: str,
        tenant: TenantKey | None = None,
        account_ids: Iterable[str] = (),
    ) -> ErrorReport:
        """Scrub and store a report; its id is what the person who met the error sees.

        The tenant's shared secret is scrubbed too, verbatim, when the tenant is known.
        """
        secrets: list[str] = []
        if tenant is not None:
            async with self._uow() as uow:
                known = await uow.tenants.get(tenant)
            if known is not None:
                secrets.append(known.shared_secret)
        report = ErrorReport.capture(
            where=where,
            message=message,
            code=code,
            now=self._clock.now(),
            tenant=tenant,
            secrets=secrets,
            account_ids=account_ids,
        )
        async with self._uow() as uow:
            await uow.error_reports.add(report)
            await uow.commit()
        return report

    async def record_failure(
        self, job: str, error: BaseException, *, tenant: TenantKey | None = None
    ) -> ErrorReport:
        """Store the report of a job that failed unexpectedly (its trace, scrubbed)."""
        return await self.record(
            where="".join(traceback.format_exception(error)),
            message=f"{job} failed: {type(error).__name__}: {error}",
            code="job_failed",
            tenant=tenant,
        )

    async def recent(self, limit: int = 50) -> Sequence[ErrorReport]:
        """The newest reports first."""
        async with self._uow() as uow:
            return await uow.error_reports.recent(limit)


async def job_failed(errors: ErrorReportService | None, job: str, error: Exception) -> None:
    """Store a scheduled job's unexpected failure as an error report; the log line names
    the report (never the trace, which may quote data)."""
    if errors is None:
        log.error("%s failed: %s", job, type(error).__name__)
        return
    try:
        report = await errors.record_failure(job, error)
    except Exception as storing:  # noqa: BLE001 - the job's failure is the news
        # No trace in the log: it may quote data the report would have scrubbed.
        log.error(  # noqa: TRY400
            "%s failed: %s (its report could not be stored: %s)",
            job,
            type(error).__name__,
            type(storing).__name__,
        )
    else:
        log.error("%s failed: error report %s", job, report.id)
