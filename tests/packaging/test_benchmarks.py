"""The in-process benchmarks still run against the code they measure (a short run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _rows(script: str, *arguments: str) -> list[list[str]]:
    """The rows of a benchmark's report (after its two header lines), from a short run."""
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(ROOT / "benchmarks" / script), *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    return [line.split() for line in done.stdout.splitlines()[2:]]


def test_the_views_benchmark_runs_and_reports_every_history() -> None:
    rows = _rows("views.py", "--votes", "40", "--rounds", "1")
    assert [row[0] for row in rows] == ["0", "5", "20"]
    assert all(float(row[-1]) > 0 for row in rows)


def test_the_pool_benchmark_runs_and_reports_both_jobs() -> None:
    rows = _rows("pool.py", "--seconds", "0.2", "--rounds", "1")
    assert [row[0] for row in rows] == ["lend", "statement"]
    assert all(float(row[-1]) > 0 for row in rows)
