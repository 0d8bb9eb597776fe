"""The simulator's issue comments take Atlassian Document Format only, as Jira does, and
list comments with their properties."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from agiletoolbox.simulator import JiraSimulator
from agiletoolbox.simulator.comments import EMPTY, NOT_ADF
from tests.simulator.restkit import APP_KEY, call

PATH = "/rest/api/3/issue/DEMO-1/comment"


def doc(*content: Any, version: int = 1) -> dict[str, Any]:
    return {"version": version, "type": "doc", "content": list(content)}


def paragraph(*inline: Any) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def text(value: str, *marks: str) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = [{"type": m} for m in marks]
    return node


@pytest.fixture(autouse=True)
def installed(jira: JiraSimulator) -> None:
    jira.register_installation("acme", APP_KEY)


async def test_a_document_is_taken_and_listed_with_its_properties(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    body = doc(paragraph(text("Estimated "), text("8", "strong"), {"type": "hardBreak"}))
    marked = {"body": body, "properties": [{"key": "k", "value": {"marker": "m1"}}]}
    answer = await call(http, jira, "POST", PATH, json=marked)
    assert answer.status == 201, answer.body
    assert answer.body["body"] == body
    later = await call(http, jira, "POST", PATH, json={"body": doc(paragraph(text("Later")))})
    assert later.status == 201
    assert [c["body"] for c in jira.comments("acme", "DEMO-1")] == [body, later.body["body"]]

    plain = await call(http, jira, "GET", PATH)
    assert [c["id"] for c in plain.body["comments"]] == [answer.body["id"], later.body["id"]]
    assert "properties" not in plain.body["comments"][0]
    newest = await call(http, jira, "GET", PATH + "?expand=properties&orderBy=-created")
    first = newest.body["comments"][1]
    assert first["properties"] == [{"key": "k", "value": {"marker": "m1"}}]
    assert newest.body["total"] == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Estimated 8", NOT_ADF),  # wiki markup or plain text: Jira's v2 API, not v3
        (doc(paragraph(text("x")), version=2), NOT_ADF),
        ({"type": "paragraph", "content": [text("x")]}, NOT_ADF),
        (doc(), EMPTY),
        (doc(text("top-level text")), NOT_ADF),
        (doc(paragraph({"type": "blink", "text": "x"})), NOT_ADF),
        (doc(paragraph(text(""))), NOT_ADF),
        (doc(paragraph(text("x", "sparkle"))), NOT_ADF),
        (doc(paragraph({"type": "text"})), NOT_ADF),
        (doc({"type": "paragraph", "content": "x"}), NOT_ADF),
    ],
)
async def test_anything_but_a_document_is_refused_with_jiras_error(
    jira: JiraSimulator, http: aiohttp.ClientSession, body: object, reason: str
) -> None:
    answer = await call(http, jira, "POST", PATH, json={"body": body})
    assert answer.status == 400
    assert answer.body == {"errorMessages": [], "errors": {"comment": reason}}
    assert jira.comments("acme", "DEMO-1") == []


async def test_an_unknown_issue_is_404(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    body = {"body": doc(paragraph(text("x")))}
    answer = await call(http, jira, "POST", "/rest/api/3/issue/DEMO-999/comment", json=body)
    assert answer.status == 404
