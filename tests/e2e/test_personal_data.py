"""Personal-data reporting against the simulated Atlassian API: closed accounts vanish."""

from __future__ import annotations

import aiohttp
import pytest

from agiletoolbox.services.personal_data import PersonalDataService
from agiletoolbox.simulator import ALICE, TEST_ACTIVE_ACCOUNT, TEST_CLOSED_ACCOUNT, JiraSimulator
from tests.e2e.conftest import Deployment
from tests.e2e.test_connect_flow import call

pytestmark = pytest.mark.postgres


async def test_a_closed_account_is_erased_after_the_report(
    jira: JiraSimulator, deployment: Deployment
) -> None:
    await jira.install("acme", deployment.url)
    api = f"{deployment.url}/api/rooms"
    tokens = {
        person: jira.context_token("acme", user=person, issue="DEMO-1")
        for person in (ALICE, TEST_ACTIVE_ACCOUNT, TEST_CLOSED_ACCOUNT)
    }
    async with aiohttp.ClientSession() as session:
        status, room = await call(session, "POST", api, tokens[ALICE], json={"issueKey": "DEMO-1"})
        assert status == 201, room
        for person in (TEST_ACTIVE_ACCOUNT, TEST_CLOSED_ACCOUNT):
            await call(session, "POST", f"{api}/{room['id']}/join", tokens[person], json={})
            await call(
                session, "PUT", f"{api}/{room['id']}/vote", tokens[person], json={"card": "5"}
            )

        reporting: PersonalDataService = await deployment.container.reporting()  # type: ignore[misc]
        summary = await reporting.report_due()
        assert (summary.tenants, summary.accounts, summary.erased) == (1, 3, 1)
        reported = {account for batch in jira.personal_data.reports for account in batch}
        assert reported == {ALICE, TEST_ACTIVE_ACCOUNT, TEST_CLOSED_ACCOUNT}

        status, after = await call(session, "GET", f"{api}?issueKey=DEMO-1", tokens[ALICE])
        assert status == 200
        assert [p["accountId"] for p in after["participants"]] == [ALICE, TEST_ACTIVE_ACCOUNT]
        again = await reporting.report_due()
        assert again.tenants == 0, "the next cycle waits for the cycle period"
