"""The simulator's JQL subset and `/rest/api/3/search/jql`, as Jira Cloud answers them."""

from __future__ import annotations

import aiohttp
import pytest

from agiletoolbox.simulator import JiraSimulator
from agiletoolbox.simulator.jql import UNBOUNDED, JqlError, keys_of, parse
from agiletoolbox.simulator.sample import STORY_POINTS_FIELD, populate
from agiletoolbox.simulator.site import Site
from tests.simulator.restkit import APP_KEY, call


@pytest.fixture
def site() -> Site:
    return populate(Site("acme", "acme-client"))


def found(site: Site, jql: str) -> list[str]:
    return keys_of(parse(site, jql).run(site))


def numbers(*values: int) -> list[str]:
    return [f"DEMO-{n}" for n in values]


def test_the_sample_project_has_forty_issues_two_sprints_and_a_backlog(site: Site) -> None:
    assert len(site.issues) == 40
    assert found(site, "project = DEMO ORDER BY key") == numbers(*range(1, 41))
    assert found(site, "sprint in openSprints() ORDER BY key ASC") == numbers(*range(7, 15))
    assert found(site, "project = DEMO AND sprint is EMPTY ORDER BY key") == numbers(*range(15, 41))


def test_clauses_combine_as_jira_reads_them(site: Site) -> None:
    assert found(site, "statusCategory = Done ORDER BY key") == numbers(1, 2, 3, 4, 5, 6, 8, 11, 14)
    assert found(site, "status in ('In Progress') order by key") == numbers(7, 10, 13)
    not_done = "project = DEMO AND statusCategory != Done AND issuetype = Bug ORDER BY key"
    assert found(site, not_done) == numbers(9, 18, 27, 36)
    either = "key = DEMO-3 OR (key in (DEMO-20, DEMO-21) AND NOT status = Done) ORDER BY key"
    assert found(site, either) == numbers(3, 20, 21)
    assert found(site, "key not in (DEMO-1) AND project = DEMO")[:1] != ["DEMO-1"]


def test_an_empty_field_and_the_orders(site: Site) -> None:
    estimated = found(site, '"Story point estimate" is not EMPTY AND project = DEMO')
    assert estimated == ["DEMO-2"]
    assert found(
        site, f"cf[{STORY_POINTS_FIELD.rsplit('_', 1)[1]}] is not empty AND project = DEMO"
    ) == ["DEMO-2"]
    by_rank = found(site, "project = DEMO ORDER BY Rank")
    assert sorted(by_rank) == sorted(numbers(*range(1, 41)))
    assert by_rank != numbers(*range(1, 41)), "the backlog's order is its own"
    assert [site.issues[k].rank for k in by_rank] == sorted(site.issues[k].rank for k in by_rank)
    newest = found(site, "project = DEMO ORDER BY created DESC, key ASC")
    created = [site.issues[k].created for k in newest]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("", UNBOUNDED),
        ("ORDER BY key", UNBOUNDED),
        ('"Story point estimate" is EMPTY', UNBOUNDED),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("colour = red", "Field 'colour' does not exist or you do not have permission to view it."),
        ("project = DEMO AND", "Error in the JQL Query: Expecting a value"),
        ("project = DEMO ORDER BY weight", "Not able to sort using field 'weight'."),
        ("project = DEMO & key = DEMO-1", "Error in the JQL Query: The character '&'"),
    ],
)
def test_what_jira_refuses_is_refused_with_its_message(site: Site, jql: str, message: str) -> None:
    with pytest.raises(JqlError) as refused:
        parse(site, jql)
    assert refused.value.message.startswith(message)


async def test_search_pages_with_next_page_tokens(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    jira.register_installation("acme", APP_KEY)
    jql = "project = DEMO AND sprint is EMPTY ORDER BY Rank"
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = f"?jql={jql.replace(' ', '%20')}&maxResults=10&fields=summary,issuetype,status"
        if token is not None:
            query += f"&nextPageToken={token}"
        answer = await call(http, jira, "GET", f"/rest/api/3/search/jql{query}")
        assert answer.status == 200, answer.body
        pages += 1
        for issue in answer.body["issues"]:
            seen.append(issue["key"])
            assert set(issue["fields"]) == {"summary", "issuetype", "status"}
        if answer.body["isLast"]:
            assert "nextPageToken" not in answer.body, "omitted, not null, on the last page"
            break
        token = answer.body["nextPageToken"]
        other = await call(
            http,
            jira,
            "POST",
            "/rest/api/3/search/jql",
            json={"jql": "project = DEMO", "nextPageToken": token},
        )
        assert other.status == 400, "a page token belongs to its query"
    assert pages == 3
    assert len(seen) == 26
    assert "total" not in answer.body


async def test_search_by_post_defaults_to_ids_and_refuses_bad_input(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    jira.register_installation("acme", APP_KEY)
    path = "/rest/api/3/search/jql"
    ids = await call(http, jira, "POST", path, json={"jql": "key = DEMO-5"})
    assert ids.status == 200
    assert ids.body == {"issues": [{"id": "10105"}], "isLast": True}
    bad = await call(http, jira, "POST", path, json={"jql": "project = NOPE"})
    assert bad.status == 400
    assert bad.body == {
        "errorMessages": ["The value 'NOPE' does not exist for the field 'project'."],
        "errors": {},
    }
    forged = await call(
        http, jira, "POST", path, json={"jql": "project = DEMO", "nextPageToken": "bm9wZQ"}
    )
    assert forged.status == 400
    unsigned = await call(http, jira, "POST", path, json={"jql": "project = DEMO"}, sign=False)
    assert unsigned.status == 401


async def test_saved_filters_and_the_issue_picker(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    jira.register_installation("acme", APP_KEY)
    listed = await call(http, jira, "GET", "/rest/api/3/filter/search?filterName=demo&expand=jql")
    assert listed.status == 200
    assert [f["name"] for f in listed.body["values"]] == ["DEMO backlog", "DEMO open sprint"]
    assert listed.body["isLast"] is True
    assert listed.body["total"] == 2
    backlog = listed.body["values"][0]
    one = await call(http, jira, "GET", f"/rest/api/3/filter/{backlog['id']}")
    assert one.body["jql"] == backlog["jql"]
    search = await call(http, jira, "POST", "/rest/api/3/search/jql", json={"jql": one.body["jql"]})
    assert len(search.body["issues"]) == 26
    missing = await call(http, jira, "GET", "/rest/api/3/filter/999")
    assert missing.status == 400
    picked = await call(
        http, jira, "GET", "/rest/api/3/issue/picker?query=keyboard&currentJQL=project%3DDEMO"
    )
    assert picked.status == 200
    (section,) = picked.body["sections"]
    assert [i["key"] for i in section["issues"]] == ["DEMO-8", "DEMO-33"]
    assert section["issues"][0]["summaryText"] == "Pick cards with the keyboard"
