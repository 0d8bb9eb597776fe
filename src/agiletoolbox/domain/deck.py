"""Decks of cards: the standard ones, custom ones, and the special cards.

A card has a label and, when it stands for a quantity, a numeric value (`½` is 0.5).
Special cards (`?`, `☕`, `∞`, `Pass`) say something other than an estimate: they never
count in statistics and are never written to Jira.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections.abc import Iterable, Mapping

from attrs import field, frozen

from agiletoolbox.domain.errors import InvalidValue, quote

QUESTION = "?"
COFFEE = "☕"
INFINITY = "∞"
PASS = "Pass"  # noqa: S105 - the card, not a password
SPECIAL_LABELS = frozenset({QUESTION, COFFEE, INFINITY, PASS})

MAX_LABEL_LENGTH = 16
MAX_CARDS = 40
MAX_CARD_VALUE = 1_000_000


def _check_label(_instance: object, _attribute: object, label: str) -> None:
    if not isinstance(label, str) or not label.strip() or label != label.strip():
        raise InvalidValue("a card label must be non-empty text without surrounding spaces")
    if len(label) > MAX_LABEL_LENGTH:
        raise InvalidValue(f"a card label has at most {MAX_LABEL_LENGTH} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in label):
        raise InvalidValue("a card label may not contain control characters")


def _check_value(_instance: object, _attribute: object, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or not 0 <= value <= MAX_CARD_VALUE):
        raise InvalidValue(f"a card value must be a number from 0 to {MAX_CARD_VALUE}")


def _to_float(value: object) -> float | None:
    if value is None:
        return None
    # bool is an int to Python but never a card's worth; text is parsed at the edges.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue("a card value must be a number")
    return float(value)


@frozen
class Card:
    """One card of a deck."""

    label: str = field(validator=_check_label)
    value: float | None = field(default=None, converter=_to_float, validator=_check_value)

    def __attrs_post_init__(self) -> None:
        if self.label in SPECIAL_LABELS and self.value is not None:
            raise InvalidValue(f"the special card {self.label} cannot carry a value")

    @property
    def special(self) -> bool:
        """Whether the card says something other than an estimate."""
        return self.label in SPECIAL_LABELS

    @property
    def numeric(self) -> bool:
        """Whether the card stands for a quantity."""
        return self.value is not None


def _check_cards(_instance: object, _attribute: object, cards: tuple[Card, ...]) -> None:
    if not cards:
        raise InvalidValue("a deck needs at least one card")
    if len(cards) > MAX_CARDS:
        raise InvalidValue(f"a deck has at most {MAX_CARDS} cards")
    labels = [card.label for card in cards]
    if len(set(labels)) != len(labels):
        raise InvalidValue("the cards of a deck need distinct labels")
    if all(card.special for card in cards):
        raise InvalidValue("a deck needs at least one card that is an estimate")
    values = [card.value for card in cards if card.value is not None]
    # Statistics read the deck's order as its scale, so numbers must climb along it.
    if any(low >= high for low, high in itertools.pairwise(values)):
        raise InvalidValue("the numbers of a deck must rise from card to card")


def _to_cards(cards: Iterable[Card]) -> tuple[Card, ...]:
    return tuple(cards)


CUSTOM = "custom"
"""The name of every deck a team makes of its own cards: a deck carries no free-text name
(it could hold a person's name or e-mail, which the app never keeps)."""

DECK_NAMES = frozenset(
    ("fibonacci", "modified-fibonacci", "powers-of-two", "linear", "t-shirt", CUSTOM)
)
"""Every name a deck may have: the standard decks' and `custom`."""


def _check_name(_instance: object, _attribute: object, name: str) -> None:
    if name not in DECK_NAMES:
        raise InvalidValue(
            f"a deck is named by the app, not by people: {quote(name)} is none of "
            + ", ".join(sorted(DECK_NAMES))
        )


@frozen
class Deck:
    """An ordered set of cards; the order is the deck's scale (used by ordinal statistics)."""

    name: str = field(validator=_check_name)
    cards: tuple[Card, ...] = field(converter=_to_cards, validator=_check_cards)

    @classmethod
    def custom(cls, cards: Iterable[tuple[str, float | None]]) -> Deck:
        """A deck of the team's own cards, given as (label, value) pairs."""
        return cls(CUSTOM, tuple(Card(label, value) for label, value in cards))

    def card(self, label: str) -> Card:
        """The card with this label; `InvalidValue` when the deck has none."""
        for card in self.cards:
            if card.label == label:
                return card
        raise InvalidValue(f"{quote(label)} is not a card of the {self.name} deck")

    def has(self, label: str) -> bool:
        """Whether the deck holds a card with this label."""
        return any(card.label == label for card in self.cards)

    def index(self, label: str) -> int:
        """The position of the card on the deck's scale."""
        for position, card in enumerate(self.cards):
            if card.label == label:
                return position
        raise InvalidValue(f"{quote(label)} is not a card of the {self.name} deck")

    @property
    def estimates(self) -> tuple[Card, ...]:
        """The cards that are estimates (every card but the special ones)."""
        return tuple(card for card in self.cards if not card.special)

    @property
    def numeric(self) -> bool:
        """Whether every estimate card has a numeric value."""
        return all(card.numeric for card in self.estimates)

    def with_question_card(self, enabled: bool) -> Deck:
        """The deck with the `?` card added at the end, or taken out."""
        if enabled == self.has(QUESTION):
            return self
        if enabled:
            return Deck(self.name, (*self.cards, Card(QUESTION)))
        return Deck(self.name, tuple(card for card in self.cards if card.label != QUESTION))


def _numbered(
    name: str, values: Iterable[float], labels: Mapping[float, str] | None = None
) -> Deck:
    labels = labels or {}
    return Deck(
        name, tuple(Card(labels.get(value, _format_number(value)), value) for value in values)
    )


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


FIBONACCI = _numbered("fibonacci", (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89))
MODIFIED_FIBONACCI = _numbered(
    "modified-fibonacci", (0, 0.5, 1, 2, 3, 5, 8, 13, 20, 40, 100), labels={0.5: "½"}
)
POWERS_OF_TWO = _numbered("powers-of-two", (0, 1, 2, 4, 8, 16, 32, 64))
LINEAR = _numbered("linear", range(1, 11))
T_SHIRT = Deck("t-shirt", tuple(Card(label) for label in ("XS", "S", "M", "L", "XL", "XXL")))

STANDARD_DECKS: Mapping[str, Deck] = {
    deck.name: deck for deck in (FIBONACCI, MODIFIED_FIBONACCI, POWERS_OF_TWO, T_SHIRT, LINEAR)
}


def standard_deck(name: str) -> Deck:
    """One of the standard decks by name; `InvalidValue` for an unknown name."""
    try:
        return STANDARD_DECKS[name]
    except KeyError:
        known = ", ".join(STANDARD_DECKS)
        raise InvalidValue(f"unknown deck {quote(name)}; the standard decks are {known}") from None
