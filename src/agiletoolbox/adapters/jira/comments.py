"""The app's Jira comment on a written estimate, in Atlassian Document Format.

One paragraph, no names: "Estimated **8** (Story point estimate) in a planning poker
session: 5 votes, agreement 80%, 2 rounds." It carries the comment property
`COMMENT_PROPERTY` with the estimate's marker, so that before writing, the app finds a
comment it wrote already for the same estimate (`holds_marker`, over the issue's newest
comments with `expand=properties`) and does not write it twice (sessions.md §5.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agiletoolbox.domain.estimate_comment import EstimateComment

COMMENTS_PATH = "/rest/api/3/issue/{key}/comment"
COMMENT_PROPERTY = "agile-toolbox-estimate"
"""The comment property that marks the app's comment on one estimate."""
NEWEST_COMMENTS = 50
"""How many of the issue's newest comments are searched for the marker (one page)."""


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def comment_text(comment: EstimateComment, field_name: str) -> tuple[str, str, str]:
    """The sentence in three parts: before the value, the value, after it."""
    facts = [_count(comment.votes, "vote", "votes")]
    if comment.agreement is not None:
        facts.append(f"agreement {round(comment.agreement * 100)}%")
    facts.append(_count(comment.rounds, "round", "rounds"))
    after = f" ({field_name}) in a planning poker session: {', '.join(facts)}."
    return "Estimated ", comment.value, after


def comment_body(comment: EstimateComment, field_name: str) -> dict[str, Any]:
    """The request body: the ADF document and the marking property."""
    before, value, after = comment_text(comment, field_name)
    paragraph = {
        "type": "paragraph",
        "content": [
            {"type": "text", "text": before},
            {"type": "text", "text": value, "marks": [{"type": "strong"}]},
            {"type": "text", "text": after},
        ],
    }
    return {
        "body": {"version": 1, "type": "doc", "content": [paragraph]},
        "properties": [{"key": COMMENT_PROPERTY, "value": {"marker": comment.marker}}],
    }


def holds_marker(page: object, marker: str) -> bool:
    """Whether a page of comments (`expand=properties`) holds the app's comment `marker`."""
    comments = page.get("comments") if isinstance(page, Mapping) else None
    for comment in comments if isinstance(comments, list) else ():
        properties = comment.get("properties") if isinstance(comment, Mapping) else None
        for prop in properties if isinstance(properties, list) else ():
            if not isinstance(prop, Mapping) or prop.get("key") != COMMENT_PROPERTY:
                continue
            value = prop.get("value")
            if isinstance(value, Mapping) and value.get("marker") == marker:
                return True
    return False
