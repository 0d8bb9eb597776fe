"""`agiletoolbox serve`: the production server's life from start to a clean stop.

Start: read settings, open the resources, migrate (unless told not to), refuse a schema
newer than this code, serve. Stop (SIGTERM or SIGINT): readiness goes red first so the
load balancer stops sending traffic, requests in flight finish, every live socket is
closed with 1001, and the resources are closed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from aiohttp import web

from agiletoolbox.adapters.http.access_log import PathOnlyAccessLogger
from agiletoolbox.adapters.http.health import watch_collector
from agiletoolbox.adapters.http.keys import DRAINING
from agiletoolbox.adapters.http.protocol import GuardedAppRunner
from agiletoolbox.adapters.postgres import PostgresDatabase
from agiletoolbox.containers import Container
from agiletoolbox.ports import JobLock
from agiletoolbox.services.errors import ErrorReportService, job_failed
from agiletoolbox.services.personal_data import PersonalDataService
from agiletoolbox.services.privacy import PrivacyService
from agiletoolbox.services.sessions import SessionService
from agiletoolbox.settings import Settings

log = logging.getLogger("agiletoolbox.server")

COLLECTOR_THRESHOLDS = (50_000, 10, 10)
"""When the garbage collector runs (`gc.set_threshold`): a young pass after 50,000 new
objects rather than Python's 700; the older generations keep Python's thresholds. A
vote's objects die young anyway; with the default, a busy process caught the rooms it
shows alive at every young pass and promoted them, and every few seconds a full pass
stopped it for 30-110 ms with 1,000 sockets open (docs/scaling.md). Full passes still
come, rarely, and free what closed sockets left in cycles."""


def tune_collector() -> None:
    """Set the collector for serving: what start-up built lives as long as the process and
    is kept out of its passes (`gc.freeze`), passes are rarer, and each pass's pause is
    reported in the metrics."""
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    watch_collector()


# How long readiness stays red before the listener closes, so balancers notice.
DRAIN_SECONDS = 2.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0
# The retention policy runs daily; the first run waits for start-up traffic to settle.
PURGE_EVERY_SECONDS = 24 * 3600.0
FIRST_PURGE_AFTER_SECONDS = 60.0
# Reporting is checked hourly: each tenant reports when its own cycle is due.
REPORT_EVERY_SECONDS = 3600.0
FIRST_REPORT_AFTER_SECONDS = 120.0


async def report_hourly(
    reporting: PersonalDataService,
    lock: JobLock,
    *,
    errors: ErrorReportService | None = None,
    first_after: float = FIRST_REPORT_AFTER_SECONDS,
    every: float = REPORT_EVERY_SECONDS,
) -> None:
    """Run the personal-data reporting cycles that are due; one process at a time."""
    await asyncio.sleep(first_after)
    while True:
        try:
            async with lock.exclusive("report-accounts") as mine:
                summary = await reporting.report_due() if mine else None
        except Exception as error:  # noqa: BLE001 - stored; the next pass tries again
            await job_failed(errors, "personal-data reporting", error)
        else:
            for failure in summary.failed if summary is not None else ():
                log.error("personal-data reporting failed for %s", failure)
            if summary is not None and summary.tenants:
                log.info(
                    "reported %d account id(s) of %d site(s); erased %d closed account(s)",
                    summary.accounts,
                    summary.tenants,
                    summary.erased,
                )
        await asyncio.sleep(every)


async def purge_daily(
    privacy: PrivacyService,
    lock: JobLock,
    *,
    errors: ErrorReportService | None = None,
    first_after: float = FIRST_PURGE_AFTER_SECONDS,
    every: float = PURGE_EVERY_SECONDS,
) -> None:
    """Carry out the retention policy every day; with several processes, one at a time."""
    await asyncio.sleep(first_after)
    while True:
        try:
            report = await privacy.purge_if_first(lock)
        except Exception as error:  # noqa: BLE001 - stored; tomorrow's purge tries again
            await job_failed(errors, "the daily purge", error)
        else:
            if report is not None:
                log.info(
                    "purge removed %d uninstalled tenant(s), %d idle room(s), %d idle "
                    "session(s), %d error report(s)",
                    report.tenants,
                    report.rooms,
                    report.sessions,
                    report.error_reports,
                )
        await asyncio.sleep(every)


async def review_deadlines(
    sessions: SessionService,
    lock: JobLock,
    *,
    every: float,
    errors: ErrorReportService | None = None,
) -> None:
    """Review the async sessions whose deadline came, every `every` seconds; with several
    processes, one at a time (and each session once: the review refuses a second)."""
    while True:
        await asyncio.sleep(every)
        try:
            reviewed = await sessions.review_due(lock)
        except Exception as error:  # noqa: BLE001 - stored; the next pass tries again
            await job_failed(errors, "the session deadlines", error)
        else:
            if reviewed:
                log.info("deadline reached: %d async session(s) moved to review", reviewed)


async def serve(
    settings: Settings,
    *,
    apply_migrations: bool = True,
    stop: asyncio.Event | None = None,
    drain_seconds: float = DRAIN_SECONDS,
) -> None:
    """Serve until `stop` is set or the process gets SIGTERM/SIGINT."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    container = Container(settings=settings)
    container.apply_migrations.override(apply_migrations)
    runner: web.AppRunner | None = None
    try:
        # Opening the database migrates it (or checks it) and refuses a newer schema.
        await container.init_resources()  # type: ignore[misc]
        database: PostgresDatabase = await container.database()  # type: ignore[misc]
        version = await database.require_schema()
        app: web.Application = await container.app()  # type: ignore[misc]
        runner = GuardedAppRunner(
            app, access_log_class=PathOnlyAccessLogger, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS
        )
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        tune_collector()
        log.info(
            "serving %s on %s:%s (region %s, schema %s, event loop %s)",
            settings.base_url,
            settings.host,
            settings.port,
            settings.region.value,
            version,
            settings.event_loop.value,
        )
        privacy: PrivacyService = await container.privacy()  # type: ignore[misc]
        lock: JobLock = await container.job_lock()  # type: ignore[misc]
        reporting: PersonalDataService = await container.reporting()  # type: ignore[misc]
        errors: ErrorReportService = await container.error_reports()  # type: ignore[misc]
        sessions: SessionService = await container.sessions()  # type: ignore[misc]
        jobs = [
            asyncio.create_task(purge_daily(privacy, lock, errors=errors)),
            asyncio.create_task(report_hourly(reporting, lock, errors=errors)),
            asyncio.create_task(
                review_deadlines(
                    sessions, lock, every=settings.deadline_check_seconds, errors=errors
                )
            ),
        ]
        await stop.wait()
        for job in jobs:
            job.cancel()
        log.info("stopping: draining for %.1fs", drain_seconds)
        app[DRAINING][0] = True
        await asyncio.sleep(drain_seconds)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        if runner is not None:
            await runner.cleanup()
        await container.shutdown_resources()  # type: ignore[misc]
        log.info("stopped")
