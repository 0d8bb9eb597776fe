"""`ConnectJiraClient` against the simulator, over real HTTP."""

from __future__ import annotations

import pytest
from attrs import evolve

from agiletoolbox.adapters.jira import ConnectJiraClient, JiraBusy, SignedTransport
from agiletoolbox.domain.errors import (
    EstimateNotConfirmed,
    FieldNotOnScreen,
    InvalidValue,
    JiraAccessDenied,
    JiraError,
    JiraIssueNotFound,
    JiraUnavailable,
)
from agiletoolbox.domain.estimate import EstimateValue, FieldSpec, FieldType
from agiletoolbox.domain.estimate_comment import EstimateComment
from agiletoolbox.domain.ids import FieldId, IssueKey
from agiletoolbox.domain.tenant import Tenant
from agiletoolbox.simulator import (
    OFF_SCREEN_FIELD,
    STORY_POINTS_FIELD,
    TEXT_FIELD,
    TEXTAREA_FIELD,
    TSHIRT_FIELD,
    JiraSimulator,
)
from tests.jira.kit import Sleeps, tenant_of

DEMO_1 = IssueKey("DEMO-1")
POINTS = FieldSpec(FieldId(STORY_POINTS_FIELD), FieldType.NUMBER)
TEXT = FieldSpec(FieldId(TEXT_FIELD), FieldType.STRING)
SIZES = ("XS", "S", "M", "L", "XL")
TSHIRT = FieldSpec(FieldId(TSHIRT_FIELD), FieldType.OPTION, SIZES)


# -- reading fields -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_id", "expected"),
    [(STORY_POINTS_FIELD, POINTS), (TEXT_FIELD, TEXT), (TSHIRT_FIELD, TSHIRT)],
)
async def test_field_spec_of_each_type(
    client: ConnectJiraClient, tenant: Tenant, field_id: str, expected: FieldSpec
) -> None:
    assert await client.field_spec(tenant, DEMO_1, FieldId(field_id)) == expected


async def test_a_field_off_the_screen(client: ConnectJiraClient, tenant: Tenant) -> None:
    with pytest.raises(FieldNotOnScreen) as refused:
        await client.field_spec(tenant, DEMO_1, FieldId(OFF_SCREEN_FIELD))

    message = refused.value.message
    assert OFF_SCREEN_FIELD in message
    assert "edit screen" in message
    assert "Jira admin" in message
    assert "team-managed" in message


async def test_a_field_taken_off_the_screen(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.faults("acme").hide_field(STORY_POINTS_FIELD)

    with pytest.raises(FieldNotOnScreen, match=STORY_POINTS_FIELD):
        await client.field_spec(tenant, DEMO_1, POINTS.id)


async def test_a_field_that_cannot_hold_an_estimate(
    client: ConnectJiraClient, tenant: Tenant
) -> None:
    with pytest.raises(InvalidValue, match=TEXTAREA_FIELD):
        await client.field_spec(tenant, DEMO_1, FieldId(TEXTAREA_FIELD))


async def test_list_fields_offers_estimate_fields_without_names(
    client: ConnectJiraClient, tenant: Tenant
) -> None:
    assert await client.list_fields(tenant, DEMO_1) == (POINTS, TSHIRT, TEXT)


async def test_an_unknown_issue(client: ConnectJiraClient, tenant: Tenant) -> None:
    with pytest.raises(JiraIssueNotFound, match="DEMO-99"):
        await client.field_spec(tenant, IssueKey("DEMO-99"), POINTS.id)


# -- writing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "value", "stored"),
    [
        (POINTS, EstimateValue("5", 5.0), 5.0),
        (POINTS, EstimateValue("½", 0.5), 0.5),
        (TEXT, EstimateValue("XL"), "XL"),
    ],
)
async def test_write_and_read_back(
    client: ConnectJiraClient,
    tenant: Tenant,
    jira: JiraSimulator,
    target: FieldSpec,
    value: EstimateValue,
    stored: object,
) -> None:
    await client.write_estimate(tenant, DEMO_1, target, value)

    assert jira.field_value("acme", "DEMO-1", target.id.value) == stored
    put, get = [r for r in jira.recorder.of_site("acme") if r.path == "/rest/api/3/issue/DEMO-1"]
    assert (put.method, put.status, put.jwt_valid) == ("PUT", 204, True)
    assert (get.method, get.status, get.jwt_valid) == ("GET", 200, True)


async def test_write_an_option(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator
) -> None:
    await client.write_estimate(tenant, DEMO_1, TSHIRT, EstimateValue("M"))

    assert jira.field_value("acme", "DEMO-1", TSHIRT_FIELD) == {
        "self": f"{jira.site('acme').base_url}/rest/api/3/customFieldOption/10102",
        "value": "M",
        "id": "10102",
    }


async def test_ignored_writes_are_not_confirmed(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.faults("acme").ignore_writes = True

    with pytest.raises(EstimateNotConfirmed, match="DEMO-2"):
        await client.write_estimate(tenant, IssueKey("DEMO-2"), POINTS, EstimateValue("8", 8.0))

    assert jira.field_value("acme", "DEMO-2", STORY_POINTS_FIELD) == 3.0


async def test_writing_a_field_jira_refuses_as_off_screen(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.faults("acme").hide_field(STORY_POINTS_FIELD)

    with pytest.raises(FieldNotOnScreen, match="edit screen"):
        await client.write_estimate(tenant, DEMO_1, POINTS, EstimateValue("5", 5.0))


async def test_a_value_jira_refuses(client: ConnectJiraClient, tenant: Tenant) -> None:
    with pytest.raises(JiraError, match="is not valid") as refused:
        await client.write_estimate(tenant, DEMO_1, TSHIRT, EstimateValue("XXXL"))
    assert type(refused.value) is JiraError


# -- failures -------------------------------------------------------------------------------


async def test_rate_limited_then_success(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator, sleeps: Sleeps
) -> None:
    jira.faults("acme").rate_limit(calls=2, retry_after=2)

    await client.write_estimate(tenant, DEMO_1, POINTS, EstimateValue("3", 3.0))

    assert sleeps.waits == [2.0, 2.0]
    assert jira.field_value("acme", "DEMO-1", STORY_POINTS_FIELD) == 3.0
    statuses = [r.status for r in jira.recorder.of_site("acme")]
    assert statuses == [429, 429, 204, 200]


async def test_rate_limited_for_ever(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator, sleeps: Sleeps
) -> None:
    jira.faults("acme").rate_limit(calls=None, retry_after=4)

    with pytest.raises(JiraBusy) as busy:
        await client.field_spec(tenant, DEMO_1, POINTS.id)

    assert isinstance(busy.value, JiraUnavailable)
    assert busy.value.retry_after == 4.0
    assert "4 seconds" in busy.value.message
    assert sleeps.waits == [4.0, 4.0]
    assert len(jira.recorder.of_site("acme")) == 3


async def test_a_long_retry_after_is_not_waited_for(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator, sleeps: Sleeps
) -> None:
    jira.faults("acme").rate_limit(calls=1, retry_after=60)

    with pytest.raises(JiraBusy) as busy:
        await client.field_spec(tenant, DEMO_1, POINTS.id)

    assert busy.value.retry_after == 60.0
    assert sleeps.waits == []


async def test_unavailable_is_retried_with_backoff(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator, sleeps: Sleeps
) -> None:
    jira.faults("acme").unavailable(calls=1)

    assert await client.field_spec(tenant, DEMO_1, POINTS.id) == POINTS
    [wait] = sleeps.waits
    assert 0 < wait <= 0.5


async def test_server_errors_are_not_retried(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.faults("acme").fail(calls=1)

    with pytest.raises(JiraUnavailable):
        await client.field_spec(tenant, DEMO_1, POINTS.id)
    assert len(jira.recorder.of_site("acme")) == 1


async def test_a_slow_jira_times_out(
    tenant: Tenant, jira: JiraSimulator, transport: SignedTransport
) -> None:
    jira.faults("acme").slow(1.0)
    client = ConnectJiraClient(evolve(transport, timeout=0.1))

    with pytest.raises(JiraUnavailable, match="in time"):
        await client.field_spec(tenant, DEMO_1, POINTS.id)


async def test_a_wrong_secret_is_access_denied(
    client: ConnectJiraClient, jira: JiraSimulator
) -> None:
    jira.register_installation("acme", "agile-toolbox")
    tenant = tenant_of(jira, secret="not-the-shared-secret")

    with pytest.raises(JiraAccessDenied) as denied:
        await client.write_estimate(tenant, DEMO_1, POINTS, EstimateValue("5", 5.0))

    assert "not-the-shared-secret" not in str(denied.value)
    [request] = jira.recorder.of_site("acme")
    assert (request.status, request.jwt_valid) == (401, False)
    assert request.failure == "signature"


async def test_an_uninstalled_app_is_access_denied(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.site("acme").installation().state = "uninstalled"

    with pytest.raises(JiraAccessDenied):
        await client.list_fields(tenant, DEMO_1)


async def test_an_unreachable_jira(client: ConnectJiraClient, jira: JiraSimulator) -> None:
    tenant = tenant_of(jira)
    await jira.close()

    with pytest.raises(JiraUnavailable, match="reached"):
        await client.field_spec(tenant, DEMO_1, POINTS.id)


async def test_no_error_carries_a_token(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator
) -> None:
    jira.faults("acme").rate_limit(calls=None, retry_after=1)

    with pytest.raises(JiraBusy) as busy:
        await client.field_spec(tenant, DEMO_1, POINTS.id)

    text = repr(busy.value) + str(busy.value) + str(busy.value.__cause__) + str(busy.value.args)
    assert "JWT" not in text
    assert tenant.shared_secret not in text
    assert busy.value.__cause__ is None


# -- whether an issue exists -----------------------------------------------------------------


async def test_an_issue_is_checked_as_the_app_and_the_answer_kept_briefly(
    transport: SignedTransport, tenant: Tenant, jira: JiraSimulator
) -> None:
    from datetime import timedelta

    from agiletoolbox.adapters.jira.client import KnownIssues
    from agiletoolbox.adapters.memory.clock import ManualClock
    from tests.unit.roomkit import T0

    clock = ManualClock(T0)
    client = ConnectJiraClient(transport, known=KnownIssues(clock))

    def asked(key: str) -> int:
        return sum(
            1
            for r in jira.recorder.requests
            if r.path == f"/rest/api/3/issue/{key}" and r.caller == "app" and r.jwt_valid
        )

    for _ in range(3):
        await client.require_issue(tenant, DEMO_1)
        with pytest.raises(JiraIssueNotFound, match="DEMO-99"):
            await client.require_issue(tenant, IssueKey("DEMO-99"))
    assert (asked("DEMO-1"), asked("DEMO-99")) == (1, 1), "asked once, then remembered"
    clock.advance(timedelta(seconds=11))  # a missing issue is asked about again soon
    with pytest.raises(JiraIssueNotFound):
        await client.require_issue(tenant, IssueKey("DEMO-99"))
    await client.require_issue(tenant, DEMO_1)
    assert (asked("DEMO-1"), asked("DEMO-99")) == (1, 2)
    clock.advance(timedelta(minutes=1))
    await client.require_issue(tenant, DEMO_1)
    assert asked("DEMO-1") == 2


# -- comments on written estimates ------------------------------------------------------------


async def test_the_estimate_comment_is_adf_with_the_field_name_and_written_once(
    client: ConnectJiraClient, tenant: Tenant, jira: JiraSimulator
) -> None:
    comment = EstimateComment(
        marker="room-1/2/8",
        value="8",
        field_id=FieldId(STORY_POINTS_FIELD),
        votes=5,
        agreement=0.8,
        rounds=2,
    )
    await client.comment_estimate(tenant, DEMO_1, comment)
    await client.comment_estimate(tenant, DEMO_1, comment)  # a retry finds it: not twice
    (held,) = jira.comments("acme", "DEMO-1")
    assert held["body"] == {
        "version": 1,
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Estimated "},
                    {"type": "text", "text": "8", "marks": [{"type": "strong"}]},
                    {
                        "type": "text",
                        "text": " (Story point estimate) in a planning poker session: "
                        "5 votes, agreement 80%, 2 rounds.",
                    },
                ],
            }
        ],
    }
    assert held["properties"] == [
        {"key": "agile-toolbox-estimate", "value": {"marker": "room-1/2/8"}}
    ]
    other = evolve(comment, marker="room-1/3/5", value="5", votes=1, agreement=None, rounds=3)
    await client.comment_estimate(tenant, DEMO_1, other)
    texts = [c["body"]["content"][0]["content"][2]["text"] for c in jira.comments("acme", "DEMO-1")]
    assert texts[1] == " (Story point estimate) in a planning poker session: 1 vote, 3 rounds."


async def test_a_comment_jira_refuses_is_a_jira_error(
    client: ConnectJiraClient, tenant: Tenant
) -> None:
    comment = EstimateComment("m", "8", FieldId(STORY_POINTS_FIELD), 2, 1.0, 1)
    with pytest.raises(JiraIssueNotFound):
        await client.comment_estimate(tenant, IssueKey("DEMO-999"), comment)


async def test_jiras_refusal_of_a_comment_body_is_told_in_its_words(
    client: ConnectJiraClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the app ever to send something that is not ADF, Jira's 400 reaches the owner."""
    monkeypatch.setattr(
        "agiletoolbox.adapters.jira.client.comment_body",
        lambda comment, name: {"body": f"Estimated {comment.value} ({name})"},
    )
    comment = EstimateComment("m", "8", FieldId(STORY_POINTS_FIELD), 2, 1.0, 1)
    with pytest.raises(JiraError, match="Atlassian Document"):
        await client.comment_estimate(tenant, DEMO_1, comment)
