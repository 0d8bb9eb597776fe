"""Issue comments, as Jira Cloud takes and lists them (sessions.md §5.4).

- `POST /rest/api/3/issue/{key}/comment` - `{"body": <ADF doc>, "properties"?: [{"key",
  "value"}]}`; 201 with the comment. The body must be an Atlassian Document: `version` 1,
  `type` `doc`, block nodes of known types, text nodes with text, known marks; anything
  else gets Jira's 400 `{"errorMessages": [], "errors": {"comment": ...}}`. The author is
  the app (a Connect JWT) or the person (a Forge user token).
- `GET /rest/api/3/issue/{key}/comment` - a page (`startAt`, `maxResults` up to 100,
  `orderBy` `created` or `-created`), each comment's properties with `expand=properties`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from agiletoolbox.simulator.answers import NO_ISSUE, UNREADABLE, errors, json_body
from agiletoolbox.simulator.cloud import Caller
from agiletoolbox.simulator.site import Site

NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
EMPTY = "Comment body can not be empty!"
MAX_PAGE = 100

BLOCKS = frozenset(
    {
        "paragraph", "heading", "bulletList", "orderedList", "listItem", "blockquote",
        "codeBlock", "rule", "panel", "table", "tableRow", "tableHeader", "tableCell",
        "mediaGroup", "mediaSingle", "media", "expand", "nestedExpand",
    }
)  # fmt: skip
INLINES = frozenset(
    {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status", "placeholder"}
)
MARKS = frozenset({"strong", "em", "link", "code", "strike", "underline", "textColor", "subsup"})


def adf_problem(doc: object) -> str | None:
    """Why `doc` is not an Atlassian Document Jira takes (None when it is)."""
    if not isinstance(doc, Mapping) or doc.get("type") != "doc" or doc.get("version") != 1:
        return NOT_ADF
    content = doc.get("content")
    if not isinstance(content, list) or not content:
        return EMPTY
    return _nodes_problem(content, top=True)


def _node_problem(node: object, *, top: bool) -> str | None:
    """Why one node is not one Jira takes here (None when it is)."""
    if not isinstance(node, Mapping) or not isinstance(node.get("type"), str):
        return NOT_ADF
    kind = node["type"]
    known = kind in BLOCKS or (not top and kind in INLINES)
    text = node.get("text")
    marks = node.get("marks", [])
    if not known or (kind == "text" and (not isinstance(text, str) or not text)):
        return NOT_ADF
    if not isinstance(marks, list) or any(
        not isinstance(m, Mapping) or m.get("type") not in MARKS for m in marks
    ):
        return NOT_ADF
    children = node.get("content")
    if children is None:
        return None
    return _nodes_problem(children, top=False) if isinstance(children, list) else NOT_ADF


def _nodes_problem(nodes: list[Any], *, top: bool) -> str | None:
    for node in nodes:
        problem = _node_problem(node, top=top)
        if problem is not None:
            return problem
    return None


def _shown(site: Site, key: str, comment: dict[str, Any], properties: bool) -> dict[str, Any]:
    shown = {k: v for k, v in comment.items() if k != "properties"}
    shown["self"] = f"{site.base_url}/rest/api/3/issue/{key}/comment/{comment['id']}"
    if properties:
        shown["properties"] = comment["properties"]
    return shown


async def add_comment(request: web.Request, site: Site, caller: Caller) -> web.Response:
    """`POST /rest/api/3/issue/{key}/comment`."""
    issue = site.issues.get(request.match_info["issue"])
    if issue is None:
        return errors(404, [NO_ISSUE], {})
    body = await json_body(request)
    if body is None:
        return errors(400, [UNREADABLE], {})
    problem = adf_problem(body.get("body"))
    if problem is not None:
        return errors(400, [], {"comment": problem})
    properties = body.get("properties", [])
    if not isinstance(properties, list) or any(
        not isinstance(p, Mapping) or not isinstance(p.get("key"), str) for p in properties
    ):
        return errors(400, [UNREADABLE], {})
    author = caller.user.account_id if caller.user is not None else f"app:{caller.kind}"
    site.comment_serial += 1
    comment = {
        "id": str(10_000 + site.comment_serial),
        "author": {"accountId": author},
        "body": body["body"],
        "created": f"2026-12-01T09:00:{site.comment_serial % 60:02d}.000+0000",
        "properties": [{"key": p["key"], "value": p.get("value")} for p in properties],
    }
    issue.comments.append(comment)
    return web.json_response(_shown(site, issue.key, comment, False), status=201)


async def list_comments(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET /rest/api/3/issue/{key}/comment`."""
    issue = site.issues.get(request.match_info["issue"])
    if issue is None:
        return errors(404, [NO_ISSUE], {})
    try:
        start = max(0, int(request.query.get("startAt", "0")))
        size = min(MAX_PAGE, max(1, int(request.query.get("maxResults", "50"))))
    except ValueError:
        return errors(400, ["startAt and maxResults are numbers."], {})
    newest_first = request.query.get("orderBy", "created") == "-created"
    ordered = list(reversed(issue.comments)) if newest_first else list(issue.comments)
    expand = "properties" in request.query.get("expand", "").split(",")
    page = [_shown(site, issue.key, c, expand) for c in ordered[start : start + size]]
    answer = {"startAt": start, "maxResults": size, "total": len(ordered), "comments": page}
    return web.json_response(answer)
