"""Jira fields as the app sees them: which can hold an estimate, how to write, how to check.

The edit metadata of an issue (`GET /rest/api/3/issue/{key}/editmeta`, connect.md §6.3)
lists exactly the fields that can be set on it now, each with its `schema`. The app
writes three kinds:

- `schema.type == "number"` (Story point estimate, Story Points, any number field);
- `schema.type == "string"` for single-line text - not multi-line text (`textarea`),
  which REST v3 takes only as an Atlassian Document;
- `schema.type == "option"` (select lists, radio buttons), whose `allowedValues` are the
  options; a disabled option is not offered.

Everything read here comes from Jira's answers and is treated as untrusted: types are
checked, sizes bounded, and anything odd is left out rather than guessed at.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.estimate import EstimateValue, FieldSpec, FieldType
from agiletoolbox.domain.ids import FieldId, IssueKey

STORY_POINTS = "com.pyxis.greenhopper.jira:jsw-story-points"
TEXTAREA = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"
OFF_SCREEN_MARK = "not on the appropriate screen"
"""Jira's 400 says "Field 'x' cannot be set. It is not on the appropriate screen, or unknown."."""

MAX_OPTIONS = 500
MAX_OPTION_LABEL = 255
_MAX_JIRA_MESSAGE = 200

_ORDER = {FieldType.NUMBER: 1, FieldType.OPTION: 2, FieldType.STRING: 3}


def _schema(metadata: object) -> Mapping[str, Any] | None:
    if not isinstance(metadata, Mapping):
        return None
    schema = metadata.get("schema")
    return schema if isinstance(schema, Mapping) else None


def settable(metadata: object) -> bool:
    """Whether the field's metadata allows `set` (Jira lists the operations it allows)."""
    if not isinstance(metadata, Mapping):
        return False
    operations = metadata.get("operations")
    return operations is None or (isinstance(operations, list) and "set" in operations)


def option_labels(allowed: object) -> tuple[str, ...]:
    """The labels of a select list's enabled options, in Jira's order, without repeats."""
    if not isinstance(allowed, list):
        return ()
    labels: dict[str, None] = {}
    for option in allowed[:MAX_OPTIONS]:
        if not isinstance(option, Mapping) or option.get("disabled") is True:
            continue
        label = option.get("value")
        if isinstance(label, str) and 0 < len(label) <= MAX_OPTION_LABEL and label.isprintable():
            labels[label] = None
    return tuple(labels)


def spec_from_metadata(field_id: FieldId, metadata: object) -> FieldSpec | None:
    """The field as a write target, or None when the app cannot write an estimate to it."""
    schema = _schema(metadata)
    if schema is None or not settable(metadata):
        return None
    kind = schema.get("type")
    if kind == "number":
        return FieldSpec(field_id, FieldType.NUMBER)
    if kind == "string" and schema.get("custom") != TEXTAREA:
        return FieldSpec(field_id, FieldType.STRING)
    if kind == "option" and isinstance(metadata, Mapping):
        return FieldSpec(field_id, FieldType.OPTION, option_labels(metadata.get("allowedValues")))
    return None


def estimate_fields(editmeta_fields: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    """The custom fields of an issue's edit metadata that can hold an estimate.

    Story-point fields first, then other numbers, select lists and text, each by id.
    System fields (summary, description, ...) are never offered.
    """
    found: list[tuple[tuple[int, int, str], FieldSpec]] = []
    for name, metadata in editmeta_fields.items():
        try:
            field_id = FieldId(name)
        except InvalidValue:
            continue
        schema = _schema(metadata)
        if schema is None or not isinstance(schema.get("custom"), str):
            continue
        spec = spec_from_metadata(field_id, metadata)
        if spec is not None:
            rank = 0 if schema.get("custom") == STORY_POINTS else _ORDER[spec.type]
            number = int(name.rpartition("_")[2]) if name.startswith("customfield_") else 0
            found.append(((rank, number, name), spec))
    return tuple(spec for _, spec in sorted(found, key=lambda item: item[0]))


def payload_value(target: FieldSpec, value: EstimateValue) -> object:
    """The JSON value of `fields[id]` in the edit request, as the field's type wants it."""
    written = value.for_field(target.type)
    if target.type is FieldType.OPTION:
        return {"value": written}
    return written


def holds(target: FieldSpec, value: EstimateValue, actual: object) -> bool:
    """Whether the field's value read back from Jira is the estimate.

    Numbers are compared as numbers (Jira answers `5.0` for 5); text exactly; an option
    by its label.
    """
    expected = value.for_field(target.type)
    if target.type is FieldType.NUMBER:
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            return False
        wanted = float(expected)
        found = float(actual)
        return math.isfinite(found) and abs(found - wanted) <= 1e-9 * max(1.0, abs(wanted))
    if target.type is FieldType.OPTION:
        return isinstance(actual, Mapping) and actual.get("value") == expected
    return isinstance(actual, str) and actual == expected


def _texts(body: object) -> list[str]:
    if not isinstance(body, Mapping):
        return []
    texts = [m for m in body.get("errorMessages") or [] if isinstance(m, str)]
    errors = body.get("errors")
    if isinstance(errors, Mapping):
        texts.extend(m for m in errors.values() if isinstance(m, str))
    return texts


def refused_as_off_screen(body: object) -> bool:
    """Whether Jira's 400 says a field is not on the edit screen (or unknown)."""
    return any(OFF_SCREEN_MARK in text.lower() for text in _texts(body))


def jira_reason(body: object, field_id: FieldId) -> str | None:
    """Jira's own words for refusing `field_id`, shortened and printable, if it gave any."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    reason = errors.get(field_id.value) if isinstance(errors, Mapping) else None
    if not isinstance(reason, str):
        texts = _texts(body)
        reason = texts[0] if texts else None
    if reason is None:
        return None
    cleaned = "".join(ch for ch in reason if ch.isprintable()).strip()
    return cleaned[:_MAX_JIRA_MESSAGE] or None


def off_screen_message(field_id: FieldId, issue_key: IssueKey) -> str:
    """What the person is told when the field is not on the issue's edit screen."""
    return (
        f"The Jira field {field_id} is not on the edit screen of {issue_key}, so Jira will "
        "not take the estimate. A Jira admin must add the field to the edit screen of the "
        "issue's project and issue type (in a team-managed project: turn on the Estimation "
        "feature in the project settings), or choose another field for the room."
    )


def unsupported_message(field_id: FieldId) -> str:
    """What the person is told when the field cannot hold an estimate at all."""
    return (
        f"The Jira field {field_id} cannot hold an estimate: choose a number field, a "
        "single-line text field or a select list."
    )
