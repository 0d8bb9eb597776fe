"""Time as the domain sees it: always passed in, always timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime

from agiletoolbox.domain.errors import InvalidValue


def require_aware(now: datetime) -> datetime:
    """`now` unchanged, or `InvalidValue` when it carries no timezone."""
    if now.tzinfo is UTC:  # what the clocks give: asked on every change
        return now
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidValue("times must carry a timezone")
    return now


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; `InvalidValue` when it carries no timezone."""
    return require_aware(moment).astimezone(UTC)
