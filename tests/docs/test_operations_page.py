"""docs/operations.md lists every setting with the default the code has, and every verb."""

from __future__ import annotations

import argparse
import re
from enum import Enum
from pathlib import Path

import attrs
import pytest

from agiletoolbox.cli import build_parser
from agiletoolbox.settings import PREFIX, Settings

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
SETTING = re.compile(rf"`({PREFIX}[A-Z_]+)`")


def table_rows() -> dict[str, str]:
    """The settings table: variable name -> its row."""
    rows: dict[str, str] = {}
    for line in PAGE.splitlines():
        first = line.split("|")[1] if line.startswith("|") else ""
        match = SETTING.fullmatch(first.strip())
        if match:
            rows[match.group(1)] = line
    return rows


def documented_default(value: object) -> str:
    """How the page writes a default: in backticks, or `unset` / `none` for nothing."""
    if value is None:
        return "unset"
    if value == ():
        return "none"
    shown = value.value if isinstance(value, Enum) else value
    return f"`{shown}`"


DEFAULTS = {PREFIX + field.name.upper(): field.default for field in attrs.fields(Settings)}


def test_the_environment_gives_the_class_defaults() -> None:
    # The page documents the class's defaults; an empty environment must mean exactly those.
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize("variable", sorted(DEFAULTS))
def test_every_setting_has_a_row_with_its_default(variable: str) -> None:
    row = table_rows().get(variable)
    assert row is not None, f"docs/operations.md has no row for {variable}"
    default_cell = row.rstrip().rstrip("|").rsplit("|", 1)[1].strip()
    assert default_cell == documented_default(DEFAULTS[variable]), row


def test_the_table_names_no_setting_the_code_lacks() -> None:
    assert set(table_rows()) == set(DEFAULTS)


def test_every_verb_is_described() -> None:
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    assert commands.choices
    for verb in commands.choices:
        assert f"`agiletoolbox {verb}" in PAGE, f"docs/operations.md does not describe {verb}"
