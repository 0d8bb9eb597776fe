"""Atlassian's personal-data reporting: report every stored account id once a cycle and
erase every trace of the accounts Atlassian says are closed.
"""

from __future__ import annotations

from datetime import timedelta

from attrs import evolve, frozen

from agiletoolbox.domain.errors import JiraError, JiraUnavailable
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.reporting import ReportCycle
from agiletoolbox.domain.retention import RetentionPolicy
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports import AccountStatus, Clock, PersonalDataReporter, UnitOfWorkFactory
from agiletoolbox.services.errors import ErrorReportService
from agiletoolbox.services.privacy import PrivacyService

BATCH_SIZE = 90  # Atlassian's limit per call
PAGE_SIZE = 10 * BATCH_SIZE
"""Accounts read at a time: a big site's thousands are never held, or made, at once (the
process serving rooms would stop for it)."""


@frozen
class ReportingSummary:
    """What one pass did: tenants reported, accounts reported and erased, tenants deferred
    (Atlassian asked to wait) and tenants that failed (the error is the caller's to log)."""

    tenants: int = 0
    accounts: int = 0
    erased: int = 0
    deferred: int = 0
    failed: tuple[str, ...] = ()


class PersonalDataService:
    """Runs the reporting cycle of every tenant that is due."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        reporter: PersonalDataReporter,
        privacy: PrivacyService,
        clock: Clock,
        retention: RetentionPolicy,
        errors: ErrorReportService | None = None,
    ) -> None:
        self._errors = errors
        self._uow = unit_of_work
        self._reporter = reporter
        self._privacy = privacy
        self._clock = clock
        self._retention = retention

    async def report_due(self) -> ReportingSummary:
        """Report the tenants whose cycle is due (or was cut short), resuming where it stopped.

        When Atlassian asks to come back later (429, 503), the tenant's cycle keeps its
        position and the next pass goes on from there.
        """
        async with self._uow() as uow:
            keys = await uow.tenants.all_keys()
        summary = ReportingSummary()
        for key in keys:
            try:
                summary = await self._report_tenant(key, summary)
            except Exception as error:  # noqa: BLE001 - one site's failure spares the others
                summary = evolve(summary, failed=(*summary.failed, await self._failed(key, error)))
        return summary

    async def _failed(self, key: TenantKey, error: Exception) -> str:
        """What a site's failure leaves in the summary: its error report's id, when kept."""
        if self._errors is None:
            return f"{key}: {type(error).__name__}"
        report = await self._errors.record_failure("personal-data reporting", error, tenant=key)
        return f"{key}: error report {report.id}"

    async def _report_tenant(self, key: TenantKey, summary: ReportingSummary) -> ReportingSummary:
        async with self._uow() as uow:
            tenant = await uow.tenants.get(key)
            cycle = await uow.report_cycles.get(key) or ReportCycle(key)
        if tenant is None or not tenant.accessible:
            return summary
        if cycle.waiting(self._clock.now()):
            return evolve(summary, deferred=summary.deferred + 1)
        due = self._retention.accounts_report_due(
            cycle.last_completed_at, cycle.cycle_period_days, self._clock.now()
        )
        if cycle.running or due:
            return await self._report(tenant, cycle, summary)
        return summary

    async def _report(
        self, tenant: Tenant, cycle: ReportCycle, summary: ReportingSummary
    ) -> ReportingSummary:
        reported = erased = 0
        while True:
            async with self._uow() as uow:
                page = await uow.rooms.accounts(tenant.key, after=cycle.cursor, limit=PAGE_SIZE)
            for start in range(0, len(page), BATCH_SIZE):
                batch = page[start : start + BATCH_SIZE]
                try:
                    answer = await self._reporter.report(tenant, batch)
                except JiraError as error:
                    wait = error.retry_after if isinstance(error, JiraUnavailable) else None
                    if wait is not None:
                        until = self._clock.now() + timedelta(seconds=wait)
                        await self._save(cycle.deferred(until))
                    return evolve(
                        summary,
                        tenants=summary.tenants + 1,
                        accounts=summary.accounts + reported,
                        erased=summary.erased + erased,
                        deferred=summary.deferred + 1,
                    )
                for account, status in answer.statuses:
                    if status is AccountStatus.CLOSED:
                        await self._privacy.erase_account(account)
                        erased += 1
                reported += len(batch)
                cycle = cycle.advanced(batch[-1][0], answer.cycle_period_days)
                await self._save(cycle)
            if len(page) < PAGE_SIZE:
                break
        await self._save(cycle.completed(self._clock.now()))
        return evolve(
            summary,
            tenants=summary.tenants + 1,
            accounts=summary.accounts + reported,
            erased=summary.erased + erased,
        )

    async def _save(self, cycle: ReportCycle) -> None:
        async with self._uow() as uow:
            await uow.report_cycles.save(cycle)
            await uow.commit()
