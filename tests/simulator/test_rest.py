"""The simulator's REST API answers as Jira Cloud does, to the app's signed requests."""

from __future__ import annotations

import time

import aiohttp
import pytest

from agiletoolbox.simulator import (
    OFF_SCREEN_FIELD,
    STORY_POINTS_FIELD,
    TEXT_FIELD,
    TEXTAREA_FIELD,
    TSHIRT_FIELD,
    JiraSimulator,
)
from tests.simulator.restkit import APP_KEY, call

OFF_SCREEN = "cannot be set. It is not on the appropriate screen, or unknown."


@pytest.fixture(autouse=True)
def installed(jira: JiraSimulator) -> None:
    jira.register_installation("acme", APP_KEY)


async def test_field_list(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    answer = await call(http, jira, "GET", "/rest/api/3/field")

    assert answer.status == 200
    fields = {f["id"]: f for f in answer.body}
    assert fields[STORY_POINTS_FIELD]["name"] == "Story point estimate"
    assert fields[STORY_POINTS_FIELD]["schema"]["type"] == "number"
    assert fields[STORY_POINTS_FIELD]["custom"] is True
    assert fields[OFF_SCREEN_FIELD]["schema"]["custom"].endswith(":float")
    assert fields["summary"]["custom"] is False


async def test_editmeta_lists_the_edit_screen(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    answer = await call(http, jira, "GET", "/rest/api/3/issue/DEMO-1/editmeta")

    fields = answer.body["fields"]
    assert set(fields) == {"summary", STORY_POINTS_FIELD, TEXT_FIELD, TSHIRT_FIELD, TEXTAREA_FIELD}
    assert fields[STORY_POINTS_FIELD]["operations"] == ["set"]
    options = fields[TSHIRT_FIELD]["allowedValues"]
    assert [o["value"] for o in options] == ["XS", "S", "M", "L", "XL", "XXL"]
    assert options[-1]["disabled"] is True


async def test_a_hidden_field_leaves_editmeta_and_refuses_edits(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    jira.faults("acme").hide_field(STORY_POINTS_FIELD)

    meta = await call(http, jira, "GET", "/rest/api/3/issue/DEMO-1/editmeta")
    edit = await call(
        http, jira, "PUT", "/rest/api/3/issue/DEMO-1", json={"fields": {STORY_POINTS_FIELD: 5}}
    )

    assert STORY_POINTS_FIELD not in meta.body["fields"]
    assert edit.status == 400
    assert edit.body == {
        "errorMessages": [],
        "errors": {STORY_POINTS_FIELD: f"Field '{STORY_POINTS_FIELD}' {OFF_SCREEN}"},
    }


async def test_edit_and_read_back(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    edit = await call(
        http,
        jira,
        "PUT",
        "/rest/api/3/issue/demo-1",
        json={"fields": {STORY_POINTS_FIELD: 5, TSHIRT_FIELD: {"value": "M"}, TEXT_FIELD: "8"}},
    )
    read = await call(
        http,
        jira,
        "GET",
        f"/rest/api/3/issue/10101?fields={STORY_POINTS_FIELD},{TSHIRT_FIELD},{TEXT_FIELD}",
    )

    assert edit.status == 204
    assert read.body["key"] == "DEMO-1"
    assert read.body["fields"][STORY_POINTS_FIELD] == 5.0
    assert read.body["fields"][TSHIRT_FIELD]["value"] == "M"
    assert read.body["fields"][TSHIRT_FIELD]["id"] == "10102"
    assert read.body["fields"][TEXT_FIELD] == "8"
    assert set(read.body["fields"]) == {STORY_POINTS_FIELD, TSHIRT_FIELD, TEXT_FIELD}


async def test_update_operations_set_a_field(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    edit = await call(
        http,
        jira,
        "PUT",
        "/rest/api/3/issue/DEMO-3",
        json={"update": {STORY_POINTS_FIELD: [{"set": 13}]}},
    )

    assert edit.status == 204
    assert jira.field_value("acme", "DEMO-3", STORY_POINTS_FIELD) == 13.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({STORY_POINTS_FIELD: "five"}, "Operation value must be a number"),
        ({STORY_POINTS_FIELD: True}, "Operation value must be a number"),
        ({TEXT_FIELD: 5}, "Operation value must be a string"),
        ({TEXT_FIELD: "x" * 256}, "The entered text is too long"),
        ({TSHIRT_FIELD: "M"}, "Specify a valid 'id' or 'name' for T-shirt size"),
        ({TSHIRT_FIELD: {"value": "XXXL"}}, "Option value 'XXXL' is not valid"),
        ({TSHIRT_FIELD: {"value": "XXL"}}, "Option value 'XXL' is not valid"),
        ({TEXTAREA_FIELD: "plain"}, "Operation value must be an Atlassian Document"),
        ({OFF_SCREEN_FIELD: 3}, OFF_SCREEN),
        ({"customfield_99999": 3}, OFF_SCREEN),
    ],
)
async def test_refused_edits(
    jira: JiraSimulator, http: aiohttp.ClientSession, fields: dict[str, object], message: str
) -> None:
    edit = await call(http, jira, "PUT", "/rest/api/3/issue/DEMO-1", json={"fields": fields})

    assert edit.status == 400
    [(field_id, text)] = edit.body["errors"].items()
    assert field_id in fields
    assert message in text
    assert jira.field_value("acme", "DEMO-1", STORY_POINTS_FIELD) is None


async def test_malformed_edits(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    both = await call(
        http,
        jira,
        "PUT",
        "/rest/api/3/issue/DEMO-1",
        json={"fields": {TEXT_FIELD: "1"}, "update": {TEXT_FIELD: [{"set": "2"}]}},
    )
    empty = await call(http, jira, "PUT", "/rest/api/3/issue/DEMO-1", json={})
    listed = await call(http, jira, "PUT", "/rest/api/3/issue/DEMO-1", json=[1])
    override = await call(
        http,
        jira,
        "PUT",
        "/rest/api/3/issue/DEMO-1?overrideScreenSecurity=true",
        json={"fields": {TEXT_FIELD: "1"}},
    )

    assert both.status == 400
    assert empty.status == 400
    assert listed.status == 400
    assert override.status == 403


async def test_unknown_issue(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    for method, path in (
        ("GET", "/rest/api/3/issue/DEMO-99"),
        ("GET", "/rest/api/3/issue/DEMO-99/editmeta"),
        ("PUT", "/rest/api/3/issue/DEMO-99"),
    ):
        answer = await call(http, jira, method, path, json={"fields": {TEXT_FIELD: "1"}})
        assert answer.status == 404
        assert answer.body["errorMessages"] == [
            "Issue does not exist or you do not have permission to see it."
        ]


async def test_unknown_site(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    async with http.get(jira.origin + "/sites/nowhere/rest/api/3/field") as response:
        assert response.status == 404


async def test_ignored_writes_answer_204_and_change_nothing(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    jira.faults("acme").ignore_writes = True

    edit = await call(
        http, jira, "PUT", "/rest/api/3/issue/DEMO-2", json={"fields": {STORY_POINTS_FIELD: 8}}
    )

    assert edit.status == 204
    assert jira.field_value("acme", "DEMO-2", STORY_POINTS_FIELD) == 3.0


async def test_counted_faults(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    faults = jira.faults("acme")
    faults.rate_limit(calls=1, retry_after=7)
    limited = await call(http, jira, "GET", "/rest/api/3/field")
    faults.unavailable(calls=1, retry_after=3)
    unavailable = await call(http, jira, "GET", "/rest/api/3/field")
    faults.fail(calls=1)
    failed = await call(http, jira, "GET", "/rest/api/3/field")
    fine = await call(http, jira, "GET", "/rest/api/3/field")

    assert (limited.status, limited.headers["Retry-After"]) == (429, "7")
    assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
    assert (unavailable.status, unavailable.headers["Retry-After"]) == (503, "3")
    assert failed.status == 500
    assert fine.status == 200


async def test_faults_until_cleared(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    jira.faults("acme").rate_limit(calls=None, retry_after=None)

    statuses = [(await call(http, jira, "GET", "/rest/api/3/field")).status for _ in range(3)]
    jira.faults("acme").clear()

    assert statuses == [429, 429, 429]
    assert (await call(http, jira, "GET", "/rest/api/3/field")).status == 200


async def test_slow_answers(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    jira.faults("acme").slow(0.2)

    started = time.monotonic()
    answer = await call(http, jira, "GET", "/rest/api/3/field")

    assert answer.status == 200
    assert time.monotonic() - started >= 0.2


async def test_every_request_is_recorded(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    await call(http, jira, "GET", "/rest/api/3/issue/DEMO-1?fields=summary")
    await call(http, jira, "GET", "/rest/api/3/field", sign=False)

    first, second = jira.recorder.of_site("acme")
    assert (first.method, first.path, first.caller, first.jwt_valid, first.status) == (
        "GET",
        "/rest/api/3/issue/DEMO-1",
        "app",
        True,
        200,
    )
    assert (second.jwt_valid, second.status, second.failure) == (False, 401, "missing token")
