"""A room's configuration and its participants."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum

from attrs import field, frozen

from agiletoolbox.domain.consensus import SuggestionRule
from agiletoolbox.domain.deck import FIBONACCI, MAX_CARD_VALUE, Deck
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import AccountId, FieldId


class Role(Enum):
    """What a participant does in a room."""

    VOTER = "voter"
    OBSERVER = "observer"


def _sorted_pairs(
    pairs: Mapping[str, float] | tuple[tuple[str, float], ...],
) -> tuple[tuple[str, float], ...]:
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted((str(label), float(number)) for label, number in items))


@frozen
class RoomConfig:
    """How a room plays: its deck, target field and rules, as the owner set them."""

    deck: Deck = FIBONACCI
    field_id: FieldId | None = None
    question_card: bool = True
    offline_voting: bool = True
    auto_reveal: bool = False
    allow_take_control: bool = True
    persistent: bool = False
    # label -> number for decks whose cards are not numbers (T-shirt sizes to story points).
    value_map: tuple[tuple[str, float], ...] = field(default=(), converter=_sorted_pairs)
    suggestion: SuggestionRule = SuggestionRule.AUTO
    """How a revealed round's suggested estimate is picked."""
    reveal_on_timer: bool = False
    """Reveal the votes when the round's timer runs out (with at least one vote)."""
    comment_on_estimate: bool = False
    """Add a Jira comment to the issue when its estimate is written (numbers, no names)."""
    cards: Deck = field(init=False, eq=False, repr=False)
    """The deck as played: with the `?` card when the room wants it (made once, here: every
    vote and every view asks for it)."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "cards", self.deck.with_question_card(self.question_card))
        for label, number in self.value_map:
            card = self.deck.card(label)
            if card.special:
                raise InvalidValue(f"the special card {label} cannot be mapped to a number")
            if card.numeric:
                raise InvalidValue(f"the card {label} already is a number")
            if not 0 <= number <= MAX_CARD_VALUE:
                raise InvalidValue(f"the number for {label} is out of range")

    @property
    def numbers(self) -> dict[str, float]:
        """The owner's label -> number map."""
        return dict(self.value_map)


@frozen
class Participant:
    """A person in a room, known by account id only."""

    account_id: AccountId
    role: Role
    online: bool
    joined_at: datetime
