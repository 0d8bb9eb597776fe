"""`ConnectPersonalDataReporter` against the simulated personal-data API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agiletoolbox.adapters.jira import ConnectPersonalDataReporter, JiraBusy, SignedTransport
from agiletoolbox.adapters.jira.personal_data import parse_cycle_period, rfc3339
from agiletoolbox.domain.errors import JiraAccessDenied, JiraError, JiraUnavailable
from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.ports.personal_data import AccountReport, AccountStatus
from agiletoolbox.simulator import TEST_ACTIVE_ACCOUNT, TEST_CLOSED_ACCOUNT, JiraSimulator
from tests.jira.kit import tenant_of

SEEN = datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
ACTIVE = AccountId(TEST_ACTIVE_ACCOUNT)
CLOSED = AccountId(TEST_CLOSED_ACCOUNT)


async def test_the_closed_test_account_is_reported_closed(
    reporter: ConnectPersonalDataReporter, tenant: Tenant, jira: JiraSimulator
) -> None:
    report = await reporter.report(tenant, [(ACTIVE, SEEN), (CLOSED, SEEN)])

    assert report == AccountReport(((CLOSED, AccountStatus.CLOSED),), 7)
    [request] = jira.recorder.requests
    assert (request.site, request.path, request.jwt_valid) == (None, "/app/report-accounts/", True)


async def test_nothing_to_do_still_carries_the_cycle(
    reporter: ConnectPersonalDataReporter, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.personal_data.cycle_period_days = 14

    assert await reporter.report(tenant, [(ACTIVE, SEEN)]) == AccountReport((), 14)


async def test_updated_accounts(
    reporter: ConnectPersonalDataReporter, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.personal_data.updated.add(TEST_ACTIVE_ACCOUNT)
    jira.personal_data.cycle_period_days = None

    report = await reporter.report(tenant, [(ACTIVE, SEEN)])

    assert report == AccountReport(((ACTIVE, AccountStatus.UPDATED),), None)


async def test_reports_go_in_batches_of_ninety(
    reporter: ConnectPersonalDataReporter, tenant: Tenant, jira: JiraSimulator
) -> None:
    accounts = [(AccountId(f"557058:{n:04d}"), SEEN) for n in range(100)] + [(CLOSED, SEEN)]

    report = await reporter.report(tenant, accounts)

    assert [len(batch) for batch in jira.personal_data.reports] == [90, 11]
    assert report.statuses == ((CLOSED, AccountStatus.CLOSED),)


async def test_the_unknown_placeholder_is_never_reported(
    reporter: ConnectPersonalDataReporter, tenant: Tenant, jira: JiraSimulator
) -> None:
    await reporter.report(tenant, [(AccountId("unknown"), SEEN), (ACTIVE, SEEN)])

    assert jira.personal_data.reports == [[TEST_ACTIVE_ACCOUNT]]


async def test_rate_limited_reports_come_back_later(
    reporter: ConnectPersonalDataReporter, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.personal_data.faults.rate_limit(calls=1, retry_after=120)

    with pytest.raises(JiraBusy) as busy:
        await reporter.report(tenant, [(CLOSED, SEEN)])

    assert busy.value.retry_after == 120.0
    assert jira.personal_data.reports == []


async def test_unavailable_reports_come_back_later(
    reporter: ConnectPersonalDataReporter, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.personal_data.faults.unavailable(calls=1, retry_after=30)

    with pytest.raises(JiraBusy) as busy:
        await reporter.report(tenant, [(CLOSED, SEEN)])

    assert busy.value.retry_after == 30.0


async def test_a_wrong_secret_is_refused(
    reporter: ConnectPersonalDataReporter, jira: JiraSimulator
) -> None:
    jira.register_installation("acme", "agile-toolbox")

    with pytest.raises(JiraAccessDenied):
        await reporter.report(tenant_of(jira, secret="wrong-secret"), [(CLOSED, SEEN)])


def test_times_and_cycle_periods() -> None:
    assert rfc3339(SEEN) == "2026-06-01T12:00:00.123Z"
    assert parse_cycle_period(" 7 ") == 7
    assert parse_cycle_period("0") is None
    assert parse_cycle_period("7 days") is None
    assert parse_cycle_period(None) is None


async def test_an_answer_naming_other_accounts_erases_none_of_them(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    transport: SignedTransport,
    tenant: Tenant,
) -> None:
    async def answer(_request: web.Request) -> web.Response:
        accounts = [
            {"accountId": "557058:someone-else", "status": "closed"},
            {"accountId": TEST_CLOSED_ACCOUNT, "status": "obliterated"},
            {"accountId": 5, "status": "closed"},
            "closed",
            {"accountId": TEST_ACTIVE_ACCOUNT, "status": "updated"},
        ]
        return web.json_response({"accounts": accounts})

    app = web.Application()
    app.router.add_post("/app/report-accounts/", answer)
    server = await aiohttp_server(app)
    reporter = ConnectPersonalDataReporter(transport, str(server.make_url("/app/report-accounts/")))

    report = await reporter.report(tenant, [(ACTIVE, SEEN), (CLOSED, SEEN)])

    assert report.statuses == ((ACTIVE, AccountStatus.UPDATED),)


@pytest.mark.parametrize(("status", "error"), [(500, JiraUnavailable), (400, JiraError)])
async def test_failures_of_the_api(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    transport: SignedTransport,
    tenant: Tenant,
    status: int,
    error: type[Exception],
) -> None:
    async def answer(_request: web.Request) -> web.Response:
        return web.json_response({"errorType": "X", "errorMessage": "no"}, status=status)

    app = web.Application()
    app.router.add_post("/app/report-accounts/", answer)
    server = await aiohttp_server(app)
    reporter = ConnectPersonalDataReporter(transport, str(server.make_url("/app/report-accounts/")))

    with pytest.raises(error):
        await reporter.report(tenant, [(CLOSED, SEEN)])


def test_the_url_must_be_absolute(transport: SignedTransport) -> None:
    with pytest.raises(ValueError, match="absolute"):
        ConnectPersonalDataReporter(transport, "/app/report-accounts/")
