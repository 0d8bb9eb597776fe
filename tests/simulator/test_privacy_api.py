"""The simulated personal-data API checks its requests the way the reference describes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import yarl

from agiletoolbox.adapters.connect.outgoing import mint_outgoing_token
from agiletoolbox.simulator import TEST_ACTIVE_ACCOUNT, TEST_CLOSED_ACCOUNT, JiraSimulator
from tests.simulator.restkit import APP_KEY


@pytest.fixture(autouse=True)
def installed(jira: JiraSimulator) -> None:
    jira.register_installation("globex", APP_KEY)


def _accounts(*ids: str) -> dict[str, Any]:
    return {"accounts": [{"accountId": i, "updatedAt": "2026-06-01T12:00:00.000Z"} for i in ids]}


async def _report(
    jira: JiraSimulator, http: aiohttp.ClientSession, body: object, *, secret: str | None = None
) -> tuple[int, dict[str, str], Any]:
    url = jira.personal_data_url
    token = mint_outgoing_token(
        app_key=APP_KEY,
        shared_secret=secret or jira.site("globex").installation().shared_secret,
        method="POST",
        url=url,
        tenant_base_url=jira.origin,
        now=datetime.now(UTC),
    )
    async with http.post(
        yarl.URL(url, encoded=True), json=body, headers={"Authorization": f"JWT {token}"}
    ) as response:
        text = await response.text()
        return response.status, dict(response.headers), (await response.json()) if text else None


async def test_closed_test_account(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    status, headers, body = await _report(
        jira, http, _accounts(TEST_ACTIVE_ACCOUNT, TEST_CLOSED_ACCOUNT)
    )

    assert status == 200
    assert body == {"accounts": [{"accountId": TEST_CLOSED_ACCOUNT, "status": "closed"}]}
    assert headers["Cycle-Period"] == "7"
    assert jira.personal_data.reports == [[TEST_ACTIVE_ACCOUNT, TEST_CLOSED_ACCOUNT]]


async def test_nothing_to_do(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    status, _, body = await _report(jira, http, _accounts(TEST_ACTIVE_ACCOUNT))
    assert (status, body) == (204, None)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"accounts": []},
        _accounts(*[f"id-{n}" for n in range(91)]),
        _accounts("not valid!"),
        {"accounts": [{"accountId": TEST_ACTIVE_ACCOUNT, "updatedAt": "yesterday"}]},
        {"accounts": [{"accountId": TEST_ACTIVE_ACCOUNT, "updatedAt": "2026-06-01T12:00:00"}]},
    ],
)
async def test_bad_reports(jira: JiraSimulator, http: aiohttp.ClientSession, body: object) -> None:
    status, _, answer = await _report(jira, http, body)
    assert status == 400
    assert answer["errorType"]


async def test_a_wrong_secret_is_refused(jira: JiraSimulator, http: aiohttp.ClientSession) -> None:
    status, _, _ = await _report(jira, http, _accounts(TEST_CLOSED_ACCOUNT), secret="wrong")

    assert status == 401
    assert jira.recorder.requests[-1].failure == "signature"
    assert jira.personal_data.reports == []
