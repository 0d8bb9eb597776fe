"""Reading Jira's field metadata and checking what it reads back, as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from agiletoolbox.adapters.jira.fields import (
    estimate_fields,
    holds,
    jira_reason,
    option_labels,
    payload_value,
    refused_as_off_screen,
    spec_from_metadata,
)
from agiletoolbox.domain.estimate import EstimateValue, FieldSpec, FieldType
from agiletoolbox.domain.ids import FieldId

NUMBER = FieldSpec(FieldId("customfield_10016"), FieldType.NUMBER)
TEXT = FieldSpec(FieldId("customfield_10035"), FieldType.STRING)
OPTION = FieldSpec(FieldId("customfield_10040"), FieldType.OPTION, ("S", "M"))
_CUSTOM = "com.atlassian.jira.plugin.system.customfieldtypes:"


def _meta(kind: str, custom: str | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if custom:
        schema["custom"] = custom
    return {"schema": schema, "operations": ["set"], **extra}


@pytest.mark.parametrize(
    ("value", "actual", "expected"),
    [
        (EstimateValue("5", 5.0), 5.0, True),
        (EstimateValue("5", 5.0), 5, True),
        (EstimateValue("½", 0.5), 0.5000000000001, True),
        (EstimateValue("5", 5.0), 5.1, False),
        (EstimateValue("1", 1.0), True, False),
        (EstimateValue("5", 5.0), "5", False),
        (EstimateValue("5", 5.0), None, False),
        (EstimateValue("5", 5.0), float("nan"), False),
    ],
)
def test_numbers_are_compared_as_numbers(
    value: EstimateValue, actual: object, expected: bool
) -> None:
    assert holds(NUMBER, value, actual) is expected


def test_text_and_options_are_compared_exactly() -> None:
    assert holds(TEXT, EstimateValue("XL"), "XL")
    assert not holds(TEXT, EstimateValue("XL"), "xl")
    assert holds(OPTION, EstimateValue("M"), {"value": "M", "id": "10102"})
    assert not holds(OPTION, EstimateValue("M"), "M")
    assert not holds(OPTION, EstimateValue("M"), {"value": "S"})


def test_payload_values() -> None:
    assert payload_value(NUMBER, EstimateValue("5", 5.0)) == 5
    assert payload_value(NUMBER, EstimateValue("½", 0.5)) == 0.5
    assert payload_value(TEXT, EstimateValue("XL")) == "XL"
    assert payload_value(OPTION, EstimateValue("M")) == {"value": "M"}


def test_field_types() -> None:
    field_id = FieldId("customfield_1")
    assert spec_from_metadata(field_id, _meta("number")) == FieldSpec(field_id, FieldType.NUMBER)
    assert spec_from_metadata(field_id, _meta("string", _CUSTOM + "textfield")) == FieldSpec(
        field_id, FieldType.STRING
    )
    assert spec_from_metadata(field_id, _meta("string", _CUSTOM + "textarea")) is None
    assert spec_from_metadata(field_id, _meta("user")) is None
    assert spec_from_metadata(field_id, _meta("number", operations=["add"])) is None
    assert spec_from_metadata(field_id, {"schema": "number"}) is None
    assert spec_from_metadata(field_id, None) is None
    radio = _meta("option", _CUSTOM + "radiobuttons", allowedValues=[{"value": "A"}])
    assert spec_from_metadata(field_id, radio) == FieldSpec(field_id, FieldType.OPTION, ("A",))


def test_option_labels_are_read_warily() -> None:
    allowed = [
        {"value": "S", "id": "1"},
        {"value": "S", "id": "2"},
        {"value": "M", "disabled": True},
        {"value": 5},
        {"value": "\x00bad"},
        {"value": "x" * 300},
        "L",
        {"value": "XL"},
    ]
    assert option_labels(allowed) == ("S", "XL")
    assert option_labels({"value": "S"}) == ()


def test_estimate_fields_leave_out_system_and_unwritable_fields() -> None:
    fields = {
        "summary": _meta("string"),
        "description": _meta("string"),
        "customfield_10050": _meta("string", _CUSTOM + "textarea"),
        "customfield_10040": _meta("option", _CUSTOM + "select", allowedValues=[{"value": "S"}]),
        "customfield_10035": _meta("string", _CUSTOM + "textfield"),
        "customfield_10026": _meta("number", _CUSTOM + "float"),
        "customfield_10016": _meta("number", "com.pyxis.greenhopper.jira:jsw-story-points"),
        "customfield_9": _meta("number", _CUSTOM + "float"),
        "not a field id": _meta("number", _CUSTOM + "float"),
    }

    assert [spec.id.value for spec in estimate_fields(fields)] == [
        "customfield_10016",
        "customfield_9",
        "customfield_10026",
        "customfield_10040",
        "customfield_10035",
    ]


def test_jira_refusals() -> None:
    off = {
        "errorMessages": [],
        "errors": {
            "customfield_10016": "Field 'customfield_10016' cannot be set. It is not on the "
            "appropriate screen, or unknown."
        },
    }
    other = {"errorMessages": [], "errors": {"customfield_10016": "Bad\x07 value\n" + "x" * 300}}

    assert refused_as_off_screen(off)
    assert not refused_as_off_screen(other)
    assert not refused_as_off_screen("not on the appropriate screen")
    reason = jira_reason(other, NUMBER.id)
    assert reason is not None
    assert reason.startswith("Bad value")
    assert len(reason) == 200
    assert jira_reason({"errorMessages": ["Nope"]}, NUMBER.id) == "Nope"
    assert jira_reason(None, NUMBER.id) is None
