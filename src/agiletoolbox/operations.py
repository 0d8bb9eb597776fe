"""Operators' jobs run from the command line: migrate, rotate the secret key, purge,
export and erase an account, read error reports.

The jobs that work on rooms and reports open the deployment's resources through the
composition root (the schema must be current: `agiletoolbox migrate` first), do their
work and close them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from agiletoolbox.adapters.postgres import (
    connect,
    database_url,
    key_ring,
    latest_version,
    migrate,
    require_current,
    rotate_secrets,
)
from agiletoolbox.containers import Container
from agiletoolbox.domain.errorreport import ErrorReport
from agiletoolbox.domain.ids import AccountId, TenantKey
from agiletoolbox.domain.tenant import Region
from agiletoolbox.services.errors import ErrorReportService
from agiletoolbox.services.personal_data import PersonalDataService, ReportingSummary
from agiletoolbox.services.privacy import PrivacyService, PurgeReport
from agiletoolbox.services.residency import RegionMigrations
from agiletoolbox.settings import Settings

Print = Callable[[str], None]

MANUAL_WINDOW = timedelta(hours=1, minutes=30)
"""The window a migration run by hand is scheduled with (Atlassian's default)."""


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Container]:
    """The composition root with its resources open, for one job."""
    container = Container(settings=settings)
    container.apply_migrations.override(False)
    await container.init_resources()  # type: ignore[misc]
    try:
        yield container
    finally:
        await container.shutdown_resources()  # type: ignore[misc]


async def migrate_database(settings: Settings, *, say: Print) -> int:
    """Apply the migrations the database lacks; returns the schema version."""
    async with database_url(settings) as url:
        connection = await connect(url)
        try:
            applied = await migrate(connection)
        finally:
            await connection.close()
    for migration in applied:
        say(f"applied {migration.version:04d}_{migration.name}")
    say(f"the database schema is at version {latest_version()}")
    return latest_version()


async def rotate_secret_key(settings: Settings, *, say: Print) -> int:
    """Re-encrypt every stored secret under the current key; returns how many."""
    keys = key_ring(settings.secret_key, production=settings.production, data_dir=settings.data_dir)
    async with database_url(settings) as url:
        connection = await connect(url)
        try:
            await require_current(connection)
            count = await rotate_secrets(connection, keys)
        finally:
            await connection.close()
    say(f"re-encrypted {count} secret(s) under key {keys.current}")
    return count


async def purge(
    settings: Settings, *, as_of: datetime | None, dry_run: bool, say: Print
) -> PurgeReport:
    """Carry out the retention policy (or count what it would remove)."""
    async with opened(settings) as container:
        privacy: PrivacyService = await container.privacy()  # type: ignore[misc]

        def progress(done: PurgeReport) -> None:
            say(f"... so far: {done.tenants} uninstalled tenant(s), {done.rooms} idle room(s)")

        report = await privacy.purge(as_of, dry_run=dry_run, progress=progress)
    verb = "would remove" if dry_run else "removed"
    say(f"uninstalled tenants {verb}: {report.tenants}")
    say(f"idle rooms {verb}: {report.rooms}")
    say(f"idle refinement sessions {verb}: {report.sessions}")
    say(f"error reports {verb}: {report.error_reports}")
    say(f"abandoned copies from other regions {verb}: {report.abandoned_copies}")
    return report


async def erase_account(settings: Settings, account: AccountId, *, say: Print) -> int:
    """Erase every trace of an account in this region."""
    async with opened(settings) as container:
        privacy: PrivacyService = await container.privacy()  # type: ignore[misc]
        rooms = await privacy.erase_account(account)
    say(f"erased the account from {rooms} room(s) and session(s), and its saved defaults")
    return rooms


async def export_account(settings: Settings, account: AccountId, *, say: Print) -> str:
    """Print, as JSON, everything stored about an account in this region."""
    async with opened(settings) as container:
        privacy: PrivacyService = await container.privacy()  # type: ignore[misc]
        rooms, defaults, sessions = await privacy.export_account(account)
    document = {
        "accountId": account.value,
        "region": settings.region.value,
        "rooms": [
            {
                "tenant": trace.tenant.value,
                "roomId": trace.room_id.value,
                "issueKey": trace.issue_key.value,
                "owner": trace.owner,
                "role": trace.role.value if trace.role else None,
                "joinedAt": trace.joined_at.isoformat() if trace.joined_at else None,
                "vote": trace.vote,
                "history": [{"round": n, "card": card} for n, card in trace.history_votes],
                "acceptedEstimateInRound": trace.accepted_estimate_in_round,
            }
            for trace in rooms
        ],
        "savedDefaults": [
            {
                "tenant": saved.key.tenant.value,
                "project": saved.key.project.value,
                "issueTypeId": saved.key.issue_type.value,
                "deck": saved.config.deck.name,
                "fieldId": str(saved.config.field_id) if saved.config.field_id else None,
                "savedAt": saved.saved_at.isoformat(),
            }
            for saved in defaults
        ],
        "sessions": [
            {
                "tenant": session.tenant.value,
                "sessionId": session.id.value,
                "project": session.project.value,
                "owner": True,
                "createdAt": session.created_at.isoformat(),
            }
            for session in sessions
        ],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    say(text)
    return text


async def report_accounts(settings: Settings, *, say: Print) -> ReportingSummary:
    """Run the personal-data reporting cycle of every tenant that is due."""
    async with opened(settings) as container:
        reporting: PersonalDataService = await container.reporting()  # type: ignore[misc]
        summary = await reporting.report_due()
    say(f"tenants reported: {summary.tenants}")
    say(f"account ids reported: {summary.accounts}")
    say(f"closed accounts erased: {summary.erased}")
    if summary.deferred:
        say(f"tenants to resume later (Atlassian asked to wait): {summary.deferred}")
    for failure in summary.failed:
        say(f"failed: {failure}")
    return summary


async def recent_errors(settings: Settings, *, limit: int, say: Print) -> Sequence[ErrorReport]:
    """Print the newest error reports (already scrubbed when they were stored)."""
    async with opened(settings) as container:
        service: ErrorReportService = await container.error_reports()  # type: ignore[misc]
        reports = await service.recent(limit)
    for report in reports:
        tenant = report.tenant.value if report.tenant else "-"
        first_line = report.message.splitlines()[0] if report.message else ""
        times = (
            f"  {report.count} times (last {report.last_at.isoformat()})" if report.last_at else ""
        )
        say(
            f"{report.at.isoformat()}  {report.id}  {report.code}  tenant={tenant}  "
            f"{first_line}{times}"
        )
    if not reports:
        say("no error reports")
    return reports


async def migrate_region(
    settings: Settings,
    tenant: TenantKey,
    target: Region,
    *,
    migration_id: str | None,
    commit: bool,
    say: Print,
) -> str:
    """Move a site to another region by hand: the hooks' steps, in order, in one run.

    Ends committed (the site lives in `target`, nothing of it is left here), or rolled
    back (the site is served here as before) when the copy fails or `commit` is False.
    Returns the final status.
    """
    async with opened(settings) as container:
        migrations: RegionMigrations = await container.region_migrations()  # type: ignore[misc]
        ident = migration_id or f"manual-{secrets.token_hex(6)}"
        now = container.clock().now()
        await migrations.schedule(tenant, ident, target, now, now + MANUAL_WINDOW)
        say(f"scheduled migration {ident} of {tenant.value} to {target.value}")
        await migrations.start(tenant, ident)
        say("the site is not served here while its data is copied")
        answer = await migrations.copy(tenant, ident)
        if answer.status == "ready-to-commit" and commit:
            await migrations.commit(tenant, ident)
            say(f"committed: the site now lives in {target.value}; nothing of it is left here")
            return "committed"
        if answer.status != "ready-to-commit":
            say(f"the copy failed ({answer.error_response_code}); rolling back")
        await migrations.rollback(tenant, ident)
        say("rolled back: the site is served here as before")
        return "rolled-back"
