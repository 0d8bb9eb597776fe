"""docs/privacy.md says what the code does by default."""

from __future__ import annotations

import re
from pathlib import Path

from agiletoolbox.domain.retention import ACCOUNT_REPORT_MAX_DAYS, RetentionPolicy
from agiletoolbox.settings import Settings

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "privacy.md").read_text(encoding="utf-8")


def row(setting: str) -> str:
    found = [line for line in PAGE.splitlines() if setting in line and line.startswith("|")]
    assert found, f"the page has no row for {setting}"
    return found[0]


def days(line: str) -> int:
    match = re.search(r"(\d+) days", line)
    assert match, line
    return int(match.group(1))


def test_retention_windows_match_the_defaults() -> None:
    policy, settings = RetentionPolicy(), Settings()
    assert days(row("RETENTION_UNINSTALLED_DAYS")) == policy.uninstalled_days
    assert days(row("RETENTION_IDLE_ROOM_DAYS")) == policy.idle_room_days
    assert days(row("RETENTION_ERROR_REPORT_DAYS")) == policy.error_report_days
    assert policy.uninstalled_days == settings.retention_uninstalled_days
    assert policy.idle_room_days == settings.retention_idle_room_days
    assert policy.error_report_days == settings.retention_error_report_days
    assert f"at most {ACCOUNT_REPORT_MAX_DAYS} days apart" in PAGE


def test_the_default_region_and_the_regions_offered() -> None:
    assert f"default `{Settings().region.value}`" in PAGE
    assert "`US` or `EU`" in PAGE


def test_every_table_is_described() -> None:
    migrations = Path(__file__).resolve().parents[2] / "src/agiletoolbox/adapters/postgres"
    sql = "\n".join(p.read_text() for p in (migrations / "migrations").glob("*.sql"))
    tables = set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql)) - {"schema_version"}
    assert tables
    for table in tables:
        assert f"`{table}`" in PAGE, f"docs/privacy.md does not say what {table} holds"
