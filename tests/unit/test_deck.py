"""Decks: the standard ones card by card, custom decks, special cards."""

from __future__ import annotations

import pytest

from agiletoolbox.domain.deck import (
    COFFEE,
    FIBONACCI,
    INFINITY,
    LINEAR,
    MODIFIED_FIBONACCI,
    PASS,
    POWERS_OF_TWO,
    QUESTION,
    STANDARD_DECKS,
    T_SHIRT,
    Card,
    Deck,
    standard_deck,
)
from agiletoolbox.domain.errors import InvalidValue


def labels(deck: Deck) -> list[str]:
    return [card.label for card in deck.cards]


def test_standard_decks_hold_exactly_their_cards() -> None:
    assert labels(FIBONACCI) == ["0", "1", "2", "3", "5", "8", "13", "21", "34", "55", "89"]
    assert labels(MODIFIED_FIBONACCI) == [
        "0",
        "½",
        "1",
        "2",
        "3",
        "5",
        "8",
        "13",
        "20",
        "40",
        "100",
    ]
    assert labels(POWERS_OF_TWO) == ["0", "1", "2", "4", "8", "16", "32", "64"]
    assert labels(T_SHIRT) == ["XS", "S", "M", "L", "XL", "XXL"]
    assert labels(LINEAR) == [str(n) for n in range(1, 11)]
    assert set(STANDARD_DECKS) == {
        "fibonacci",
        "modified-fibonacci",
        "powers-of-two",
        "t-shirt",
        "linear",
    }


def test_half_is_worth_a_half() -> None:
    assert MODIFIED_FIBONACCI.card("½").value == 0.5


def test_numbers_are_values_and_t_shirt_sizes_are_not() -> None:
    assert FIBONACCI.numeric
    assert all(card.value == float(card.label) for card in FIBONACCI.cards)
    assert not T_SHIRT.numeric
    assert all(card.value is None for card in T_SHIRT.cards)


def test_standard_deck_by_name() -> None:
    assert standard_deck("t-shirt") is T_SHIRT
    with pytest.raises(InvalidValue, match="unknown deck"):
        standard_deck("tarot")


@pytest.mark.parametrize("label", [QUESTION, COFFEE, INFINITY, PASS])
def test_special_cards_are_special_and_carry_no_value(label: str) -> None:
    assert Card(label).special
    assert not Card(label).numeric
    with pytest.raises(InvalidValue, match="special"):
        Card(label, 1)


def test_question_card_comes_and_goes() -> None:
    with_question = FIBONACCI.with_question_card(True)
    assert labels(with_question)[-1] == QUESTION
    assert with_question.with_question_card(True) is with_question
    assert with_question.with_question_card(False) == FIBONACCI
    assert FIBONACCI.with_question_card(False) is FIBONACCI


def test_estimates_leave_out_specials() -> None:
    deck = Deck.custom([("1", 1), ("2", 2), (COFFEE, None)])
    assert [card.label for card in deck.estimates] == ["1", "2"]
    assert deck.numeric


def test_card_lookup() -> None:
    assert FIBONACCI.index("5") == 4
    assert FIBONACCI.has("5")
    assert not FIBONACCI.has("4")
    with pytest.raises(InvalidValue, match="not a card"):
        FIBONACCI.card("4")
    with pytest.raises(InvalidValue, match="not a card"):
        FIBONACCI.index("4")


@pytest.mark.parametrize(
    ("name", "cards", "message"),
    [
        ("empty", [], "at least one card"),
        ("dupes", [("1", 1), ("1", 2)], "distinct labels"),
        ("falling", [("2", 2), ("1", 1)], "rise"),
        ("same", [("a", 1), ("b", 1)], "rise"),
        ("specials", [(QUESTION, None), (COFFEE, None)], "estimate"),
        ("many", [(str(n), n) for n in range(41)], "at most 40"),
    ],
)
def test_bad_decks_are_refused(
    name: str, cards: list[tuple[str, float | None]], message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        Deck.custom(cards)


@pytest.mark.parametrize("name", ["", "Jane's deck", "jane@example.com", "x" * 65, "Custom"])
def test_a_deck_has_no_free_text_name(name: str) -> None:
    """A deck is named by the app (a standard deck's name, or `custom`): a free-text name
    could hold a person's name or e-mail, which the app never keeps."""
    with pytest.raises(InvalidValue, match="named by the app"):
        Deck(name, FIBONACCI.cards)
    assert Deck.custom([("1", 1)]).name == "custom"


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("", None),
        (" 1", 1),
        ("x" * 17, None),
        ("a\nb", None),
        ("1", -1),
        ("1", float("nan")),
        ("1", float("inf")),
        ("1", 1_000_001),
    ],
)
def test_bad_cards_are_refused(label: str, value: float | None) -> None:
    with pytest.raises(InvalidValue):
        Card(label, value)


def test_a_card_value_must_be_a_number() -> None:
    with pytest.raises(InvalidValue, match="number"):
        Card("1", True)
    with pytest.raises(InvalidValue, match="number"):
        Card("1", "1")  # type: ignore[arg-type]


def test_an_equal_deck_is_answered_for_itself() -> None:
    twin = Deck(FIBONACCI.name, FIBONACCI.cards)
    assert twin == FIBONACCI
    assert twin is not FIBONACCI
    FIBONACCI.with_question_card(True)
    assert twin.with_question_card(False) is twin
    assert twin.with_question_card(True) == FIBONACCI.with_question_card(True)
