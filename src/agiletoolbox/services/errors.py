"""Error reports: unexpected failures recorded, scrubbed, for operators to read."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Sequence
from datetime import timedelta

from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.ports import Clock, UnitOfWorkFactory

log = logging.getLogger("agiletoolbox.jobs")

COUNTING_WINDOW = timedelta(hours=1)
"""Equal reports within this long of the first are counted on it, not stored again."""


def stack_of(error: BaseException) -> str:
    """Where an error happened: each exception of its chain as the frames it passed and
    its type's name - never its message, which may quote the data it met (a body, a
    value someone typed)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return "\n(while handling the error above)\n".join(
        "".join(traceback.extract_tb(e.__traceback__).format()) + kind_of(e)
        for e in reversed(chain)
    )


def kind_of(error: BaseException) -> str:
    """The error's type by its qualified name (what a report may say of it)."""
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"


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

        The tenant's shared secret is scrubbed too, verbatim, when the tenant is known. A
        report equal to one stored within `COUNTING_WINDOW` is counted on that one (whose
        id is returned).
        """
        secrets: list[str] = []
        if tenant is not None:
            async with self._uow() as uow:
                known = await uow.tenants.get(tenant)
            if known is not None:
                secrets.append(known.shared_secret)
        now = self._clock.now()
        report = ErrorReport.capture(
            where=where,
            message=message,
            code=code,
            now=now,
            tenant=tenant,
            secrets=secrets,
            account_ids=account_ids,
        )
        async with self._uow() as uow:
            stored = await uow.error_reports.add(report, counted_since=now - COUNTING_WINDOW)
            await uow.commit()
        return stored

    async def record_failure(
        self, job: str, error: BaseException, *, tenant: TenantKey | None = None
    ) -> ErrorReport:
        """Store the report of a job that failed unexpectedly (where, and the error's type)."""
        return await self.record(
            where=stack_of(error),
            message=f"{job} failed: {kind_of(error)}",
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
