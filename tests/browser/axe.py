"""axe-core in the app's frame: the accessibility violations of what a page shows now.

axe-core comes from npm (`tests/browser/axe`, installed by tox); without it the tests that
use it skip, unless `CI` is set: then they fail.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_script() -> str:
    """The axe-core bundle; skip (or, in CI, fail) when it is not installed."""
    if not AXE.exists():
        reason = "axe-core is not installed (cd tests/browser/axe && npm ci)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set: the accessibility tests must run in CI")
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


def app_frame(page: Any) -> Any:
    """The app's frame (the room page) of an issue view, or the sessions page of a project."""
    for frame in page.frames:
        if "/room?" in frame.url or "/sessions?" in frame.url:
            return frame
    raise AssertionError("the page has no app frame")


async def violations(page: Any) -> list[str]:
    """The serious and critical WCAG 2 A/AA violations in the app's frame, as text."""
    frame = app_frame(page)
    if not await frame.evaluate("() => typeof window.axe === 'object'"):
        await frame.add_script_tag(content=axe_script())
    found: list[dict[str, Any]] = await frame.evaluate(
        """async () => {
          const result = await axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
            resultTypes: ["violations"],
          });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
          }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}"
        for v in found
        if v["impact"] in SERIOUS
    ]
