"""Estimates and the Jira fields they are written to.

The owner accepts an estimate for a revealed round; it is checked here against the deck
and the target field's type before anything goes to Jira: numbers for number fields,
text for text fields, one of the offered options for select lists. Special cards never
become an estimate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import Enum

from attrs import field, frozen

from agiletoolbox.domain.deck import MAX_CARD_VALUE, Deck
from agiletoolbox.domain.errors import InvalidValue, quote
from agiletoolbox.domain.ids import AccountId, FieldId

_NUMBER = re.compile(r"(0|[1-9][0-9]{0,6})([.,][0-9]{1,3})?")
_SIGNED = re.compile(r"[-+\u2212]?[0-9]+([.,][0-9]+)?")
MAX_TEXT_ESTIMATE = 255
"""The longest estimate (Jira's limit for a single-line text field)."""
_QUOTED = 24
"""An estimate is quoted shorter than other values: it is what a person typed."""


def _quote(value: str) -> str:
    return quote(value, _QUOTED)


class FieldType(Enum):
    """The kinds of Jira field an estimate can be written to."""

    NUMBER = "number"
    STRING = "string"
    OPTION = "option"


def _to_options(options: Iterable[str]) -> tuple[str, ...]:
    return tuple(options)


@frozen
class FieldSpec:
    """What the app knows of a target field when it writes to it (read from Jira each time)."""

    id: FieldId
    type: FieldType
    options: tuple[str, ...] = field(default=(), converter=_to_options)


@frozen
class EstimateValue:
    """An accepted estimate: the label the team agreed on and, for numeric fields, its number."""

    label: str
    number: float | None = None

    def for_field(self, field_type: FieldType) -> float | str:
        """The value as the field's type wants it (the Jira client wraps options)."""
        if field_type is FieldType.NUMBER:
            if self.number is None:
                raise InvalidValue(
                    f"the estimate {_quote(self.label)} has no number for a number field"
                )
            return int(self.number) if self.number.is_integer() else self.number
        return self.label


def parse_number(text: str) -> float | None:
    """A plain decimal number typed by a person (`5`, `0.5`, `2,5`), or None."""
    if not _NUMBER.fullmatch(text):
        return None
    return float(text.replace(",", "."))


def resolve_estimate(
    value: str, deck: Deck, value_map: Mapping[str, float], target: FieldSpec
) -> EstimateValue:
    """Check an estimate against the deck and the field; return what would be written.

    A number field takes a numeric card, a card mapped to a number by the owner, or a plain
    number typed by the owner (teams sometimes agree between two cards). A text field takes
    an estimate card's label or a number. An option field takes one of the field's options.
    """
    value = value.strip() if isinstance(value, str) else value
    if not isinstance(value, str) or not value:
        raise InvalidValue("the estimate is empty")
    if len(value) > MAX_TEXT_ESTIMATE:
        raise InvalidValue(f"an estimate has at most {MAX_TEXT_ESTIMATE} characters")
    card = next((c for c in deck.cards if c.label == value), None)
    if card is not None and card.special:
        raise InvalidValue(f"the card {value} is not an estimate and is never written to Jira")
    number = card.value if card is not None else None
    if number is None:
        number = value_map.get(value)
    if number is None and card is None:
        number = parse_number(value)
    if number is None and card is None and _SIGNED.fullmatch(value):
        raise InvalidValue(
            f"{_quote(value)} is out of range: an estimate is a number from 0 to "
            f"{MAX_CARD_VALUE:,} with at most 3 decimals"
        )
    if target.type is FieldType.NUMBER:
        if number is None:
            raise InvalidValue(
                f"{_quote(value)} has no number, and the field takes numbers: type a number, "
                "or give the card a number in the room settings"
            )
        if not math.isfinite(number) or number > MAX_CARD_VALUE:
            raise InvalidValue(f"an estimate is a number from 0 to {MAX_CARD_VALUE:,}")
        return EstimateValue(value, number)
    if target.type is FieldType.OPTION:
        if value not in target.options:
            raise InvalidValue(f"{_quote(value)} is not one of the options of the field")
        return EstimateValue(value, number)
    if card is None and number is None:
        # The app keeps no free text (it could name a person): cards and numbers only.
        raise InvalidValue(
            f"{_quote(value)} is neither a card of the deck nor a number; the app writes "
            "cards and numbers only, never free text"
        )
    return EstimateValue(value, number)


class CommentState(Enum):
    """Where the Jira comment on a written estimate stands (rooms that comment on their
    estimates): a process took it on, Jira holds it, or it failed (the owner is told)."""

    PENDING = "pending"
    WRITTEN = "written"
    FAILED = "failed"


COMMENT_CLAIM = timedelta(minutes=2)
"""How long a process that took a comment on keeps it before another may take it again
(one that stopped between taking it and writing it leaves it pending)."""


@frozen
class Estimate:
    """The estimate accepted for a round, and whether Jira confirmed that it holds it."""

    value: EstimateValue
    field_id: FieldId
    round: int
    accepted_by: AccountId | None
    accepted_at: datetime
    written: bool = False
    comment: CommentState | None = None
    """Where its Jira comment stands (None: none asked for, or not yet)."""
    comment_at: datetime | None = None
    """When a process last took the comment on."""

    def repeats(self, other: Estimate) -> bool:
        """Whether `other` accepts the same value for the same field in the same round (a
        retry, another tab): Jira may hold it already, and its comment is the same one."""
        return (self.value, self.field_id, self.round) == (
            other.value,
            other.field_id,
            other.round,
        )

    def same_as(self, other: Estimate) -> bool:
        """Whether both are the one acceptance (whatever Jira's confirmation and comment)."""
        return (self.value, self.field_id, self.round, self.accepted_at) == (
            other.value,
            other.field_id,
            other.round,
            other.accepted_at,
        )
