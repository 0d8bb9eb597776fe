"""Strict JSON for what arrives from outside (tokens, Jira's answers): UTF-8 only, no
duplicate member names (a parser that kept the last could be fooled), no NaN or Infinity.
"""

from __future__ import annotations

import json
from typing import Any


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate member")
    return dict(pairs)


def _no_constants(_name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def loads(data: bytes) -> Any:
    """The value of `data`; `ValueError` for anything that is not strict JSON (invalid
    UTF-8, duplicate names, NaN, nesting too deep)."""
    try:
        return json.loads(
            data.decode("utf-8"), object_pairs_hook=_object, parse_constant=_no_constants
        )
    except RecursionError:
        raise ValueError("nested too deeply") from None


MAX_DEPTH = 16
"""How deep a JSON value from a client may nest (the deepest body the API defines: 4)."""


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """`ValueError` when `value` nests arrays and objects more than `limit` deep (checked
    without recursion, so no value can exhaust the stack)."""
    if isinstance(value, dict):
        # A flat object, such as every socket command, is done with in one loop (no
        # generator resumed per member: this runs once per command).
        for member in value.values():
            if isinstance(member, dict | list):
                break
        else:
            return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if not children:
            continue
        if depth > limit:
            raise ValueError(f"nested more than {limit} deep")
        stack.extend((child, depth + 1) for child in children)
