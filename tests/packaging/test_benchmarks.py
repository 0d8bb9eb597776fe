"""The benchmarks still run against the code they measure (a short run)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _report(script: str, *arguments: str) -> list[str]:
    """The lines a benchmark prints, from a short run."""
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(ROOT / "benchmarks" / script), *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    return done.stdout.splitlines()


def _rows(script: str, *arguments: str) -> list[list[str]]:
    """The rows of a benchmark's report (after its two header lines), from a short run."""
    return [line.split() for line in _report(script, *arguments)[2:]]


def test_the_views_benchmark_runs_and_reports_every_history() -> None:
    rows = _rows("views.py", "--votes", "40", "--rounds", "1")
    assert [row[0] for row in rows] == ["0", "5", "20"]
    assert all(float(row[-1]) > 0 for row in rows)


def test_the_pool_benchmark_runs_and_reports_both_jobs() -> None:
    rows = _rows("pool.py", "--seconds", "0.2", "--rounds", "1")
    assert [row[0] for row in rows] == ["lend", "statement"]
    assert all(float(row[-1]) > 0 for row in rows)


def test_the_reads_benchmark_runs_and_reports_both_kinds() -> None:
    lines = _report("reads.py", "--seconds", "0.4", "--rounds", "2")
    measured = [line for line in lines if line.startswith("CPU per room read")]
    assert [line.split(":")[0].rsplit(" ", 2)[-2:] for line in measured] == [
        ["decks", "kept"],
        ["made", "again"],
    ]
    assert all(float(line.split(":")[1].split()[0]) > 0 for line in measured)
    assert lines[-1].startswith("kept / made again: ")


def test_the_memos_benchmark_runs_and_reports_every_memo_both_ways() -> None:
    lines = _report("memos.py", "--operations", "2000", "--rounds", "2")
    memos = {line.split(":")[0]: line.split(":", 1)[1] for line in lines[1:]}
    assert set(memos) == {
        "hearing a notification, room ids",
        "making a room write's statement, texts",
    }
    for figures in memos.values():
        memoised, again = re.findall(r"(memoised|made again) ([0-9.]+) us", figures)
        assert memoised[0] == "memoised"
        assert again[0] == "made again"
        assert float(memoised[1]) > 0
        assert float(again[1]) > 0
        assert "; ratio " in figures


def test_the_calls_benchmark_counts_both_servers_calls_per_vote() -> None:
    lines = _report("calls.py", "--votes", "3")
    header, totals = lines[1].split(), lines[2].split()
    assert header == ["bare", "ours"]
    assert totals[0] == "all"
    bare, ours = (float(n) for n in totals[1:])
    # Each server answers, renders and sends every vote: well over a hundred calls.
    assert bare > 100
    assert ours > 100
    groups = {line.split()[0] for line in lines[3:] if line.startswith("  ")}
    assert {"our", "asyncio", "aiohttp", "asyncpg"} <= groups
    assert lines[-1].startswith("ours / bare: ")


def test_the_loops_benchmark_measures_ours_on_each_event_loop() -> None:
    lines = _report("loops.py", "--rounds", "2", "--seconds", "1")
    # Each round measures both loops, A on uvloop first in odd rounds (a disturbed window
    # is measured again, on its own line).
    measured = [line.split(" votes/s ")[0].strip() for line in lines if " votes/s  " in line]
    windows = [w for n, w in enumerate(measured) if n == 0 or w != measured[n - 1]]
    assert windows == [
        "r1 ours",
        "r1 ours on asyncio",
        "r2 ours on asyncio",
        "r2 ours",
    ], lines
    medians = next(line for line in lines if line.startswith("server CPU per vote, ms"))
    uvloop, _, asyncio_, _, ratio = medians[40:].split()
    assert float(uvloop) > 0
    assert float(asyncio_) > 0
    assert float(ratio) == pytest.approx(float(uvloop) / float(asyncio_), abs=0.01)
    paired = next(line for line in lines if line.startswith("  server CPU per vote, ms"))
    assert re.fullmatch(r"[0-9.]+ \([0-9.]+-[0-9.]+\)", paired[40:].strip()), paired
    assert lines[-1].startswith("other processes' CPU per window: median ")
