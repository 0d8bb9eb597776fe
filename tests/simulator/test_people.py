"""Names, e-mails and avatars go to browsers; the record shows if the app ever asked."""

from __future__ import annotations

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, CHITRA, TEST_CLOSED_ACCOUNT, JiraSimulator
from tests.simulator.restkit import APP_KEY, call

BULK = f"/rest/api/3/user/bulk?accountId={ALICE}&accountId={BOB}"


@pytest.fixture(autouse=True)
def installed(jira: JiraSimulator) -> None:
    jira.register_installation("acme", APP_KEY)


async def test_the_browser_gets_names(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    answer = await call(
        http, jira, "GET", BULK, sign=False, headers=jira.browser_headers("acme", CHITRA)
    )

    assert answer.status == 200
    names = {u["accountId"]: u["displayName"] for u in answer.body["values"]}
    assert names == {ALICE: "Alice Andersen", BOB: "Bob Brennan"}
    alice = answer.body["values"][0]
    assert alice["emailAddress"] == "alice@example.com"
    assert alice["avatarUrls"]["48x48"].startswith(jira.origin + "/avatars/")
    record = jira.recorder.requests[-1]
    assert (record.caller, record.names_served) == ("browser", True)
    assert jira.recorder.names_served_to_app() == []


async def test_the_app_asking_for_names_is_recorded(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    answer = await call(http, jira, "GET", BULK)

    assert answer.status == 200
    [leak] = jira.recorder.names_served_to_app()
    assert leak.path == "/rest/api/3/user/bulk"


async def test_bulk_pages_by_ten(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    ids = "&".join(f"accountId={a}" for a in list(jira.site("acme").users) * 2)
    headers = jira.browser_headers("acme", ALICE)

    first = await call(
        http, jira, "GET", f"/rest/api/3/user/bulk?{ids}", sign=False, headers=headers
    )
    small = await call(
        http,
        jira,
        "GET",
        f"/rest/api/3/user/bulk?{ids}&startAt=2&maxResults=2",
        sign=False,
        headers=headers,
    )
    none = await call(http, jira, "GET", "/rest/api/3/user/bulk", sign=False, headers=headers)

    assert (first.body["total"], len(first.body["values"]), first.body["isLast"]) == (7, 7, True)
    assert (small.body["startAt"], len(small.body["values"]), small.body["isLast"]) == (2, 2, False)
    assert none.status == 400


async def test_myself(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    person = await call(
        http,
        jira,
        "GET",
        "/rest/api/3/myself",
        sign=False,
        headers=jira.browser_headers("acme", BOB),
    )
    app = await call(http, jira, "GET", "/rest/api/3/myself")
    nobody = await call(http, jira, "GET", "/rest/api/3/myself", sign=False)

    assert person.body["displayName"] == "Bob Brennan"
    assert (app.body["accountType"], app.body["displayName"]) == ("app", APP_KEY)
    assert nobody.status == 401
    assert jira.recorder.names_served_to_app() == []


async def test_forged_and_closed_sessions_are_refused(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    forged = {"Cookie": f"cloud.session.token={ALICE}.{'0' * 64}"}
    answer = await call(http, jira, "GET", BULK, sign=False, headers=forged)
    closed = await call(
        http,
        jira,
        "GET",
        BULK,
        sign=False,
        headers=jira.browser_headers("acme", TEST_CLOSED_ACCOUNT),
    )

    assert answer.status == 401
    assert closed.status == 401


async def test_avatars(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{jira.origin}/avatars/{ALICE}.svg") as response:
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
        assert ">AA<" in await response.text()
    async with http.get(f"{jira.origin}/avatars/nobody.svg") as response:
        assert response.status == 404


async def test_index_names_sites_without_secrets(
    jira: JiraSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(jira.origin + "/") as response:
        index = await response.json()

    assert index["installKeysUrl"] == jira.install_keys_url
    assert [s["name"] for s in index["sites"]] == ["acme", "globex"]
    assert index["sites"][0]["installations"] == {APP_KEY: "enabled"}
    secret = jira.site("acme").installation().shared_secret
    assert secret not in str(index)
