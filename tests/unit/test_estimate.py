"""Estimates checked against the deck and the target field's type."""

from __future__ import annotations

import pytest

from agiletoolbox.domain.deck import COFFEE, FIBONACCI, MODIFIED_FIBONACCI, QUESTION, T_SHIRT
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.estimate import (
    EstimateValue,
    FieldSpec,
    FieldType,
    parse_number,
    resolve_estimate,
)
from agiletoolbox.domain.ids import FieldId

POINTS = FieldSpec(FieldId("customfield_10016"), FieldType.NUMBER)
TEXT = FieldSpec(FieldId("customfield_10020"), FieldType.STRING)
SIZE = FieldSpec(FieldId("customfield_10030"), FieldType.OPTION, ("S", "M", "L"))


@pytest.mark.parametrize(("text", "number"), [("5", 5.0), ("0.5", 0.5), ("2,5", 2.5), ("0", 0.0)])
def test_plain_numbers(text: str, number: float) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["", "-1", "1e3", "05", "1.2345", "five", "nan", "inf", " 5"])
def test_not_plain_numbers(text: str) -> None:
    assert parse_number(text) is None


def test_numeric_card_to_number_field() -> None:
    assert resolve_estimate("½", MODIFIED_FIBONACCI, {}, POINTS) == EstimateValue("½", 0.5)
    assert resolve_estimate(" 8 ", FIBONACCI, {}, POINTS) == EstimateValue("8", 8.0)


def test_a_number_between_cards_is_accepted_for_number_fields() -> None:
    assert resolve_estimate("4", FIBONACCI, {}, POINTS) == EstimateValue("4", 4.0)


def test_mapped_label_to_number_field() -> None:
    assert resolve_estimate("M", T_SHIRT, {"M": 3.0}, POINTS) == EstimateValue("M", 3.0)
    with pytest.raises(InvalidValue, match="'L' has no number, and the field takes numbers"):
        resolve_estimate("L", T_SHIRT, {"M": 3.0}, POINTS)


@pytest.mark.parametrize("special", [QUESTION, COFFEE])
def test_special_cards_are_never_estimates(special: str) -> None:
    deck = FIBONACCI.with_question_card(True)
    if special == COFFEE:
        deck = deck.custom([("1", 1), (COFFEE, None)])
    for target in (POINTS, TEXT, SIZE):
        with pytest.raises(InvalidValue, match="never written"):
            resolve_estimate(special, deck, {}, target)


def test_text_field_takes_labels_and_numbers() -> None:
    assert resolve_estimate("XL", T_SHIRT, {}, TEXT) == EstimateValue("XL", None)
    assert resolve_estimate("3", T_SHIRT, {}, TEXT) == EstimateValue("3", 3.0)
    with pytest.raises(InvalidValue, match="neither"):
        resolve_estimate("huge", T_SHIRT, {}, TEXT)


def test_option_field_takes_its_options_only() -> None:
    assert resolve_estimate("M", T_SHIRT, {}, SIZE) == EstimateValue("M", None)
    with pytest.raises(InvalidValue, match="options"):
        resolve_estimate("XL", T_SHIRT, {}, SIZE)


def test_empty_and_out_of_range() -> None:
    with pytest.raises(InvalidValue, match="empty"):
        resolve_estimate("  ", FIBONACCI, {}, POINTS)
    with pytest.raises(InvalidValue, match="from 0 to 1,000,000"):
        resolve_estimate("9999999", FIBONACCI, {}, POINTS)


@pytest.mark.parametrize("typed", ["-3", "\u22123", "+4", "2.5555", "12345678"])
@pytest.mark.parametrize("target", [POINTS, FieldSpec(FieldId("customfield_1"), FieldType.STRING)])
def test_a_number_out_of_range_is_called_out_of_range_not_not_a_number(
    typed: str, target: FieldSpec
) -> None:
    with pytest.raises(InvalidValue, match="is out of range: an estimate is a number from 0 to"):
        resolve_estimate(typed, FIBONACCI, {}, target)


def test_free_text_is_refused_with_the_reason_and_long_text_is_not_quoted() -> None:
    text = FieldSpec(FieldId("customfield_1"), FieldType.STRING)
    with pytest.raises(InvalidValue, match="never free text") as refused:
        resolve_estimate("about a day " * 3, FIBONACCI, {}, text)
    assert "about a day about a day " not in str(refused.value)
    with pytest.raises(InvalidValue, match="at most 255 characters"):
        resolve_estimate("5" * 9000, FIBONACCI, {}, text)


def test_values_as_jira_fields_want_them() -> None:
    assert EstimateValue("5", 5.0).for_field(FieldType.NUMBER) == 5
    assert isinstance(EstimateValue("5", 5.0).for_field(FieldType.NUMBER), int)
    assert EstimateValue("½", 0.5).for_field(FieldType.NUMBER) == 0.5
    assert EstimateValue("M", 3.0).for_field(FieldType.STRING) == "M"
    assert EstimateValue("M", None).for_field(FieldType.OPTION) == "M"
    with pytest.raises(InvalidValue, match="no number"):
        EstimateValue("M", None).for_field(FieldType.NUMBER)
