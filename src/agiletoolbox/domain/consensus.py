"""The consensus of a revealed round: what the votes say, in numbers and on the deck.

Special cards (`?`, `☕`, `∞`, `Pass`) never count: they are only tallied. Numeric decks
get mean, median and the card closest to the mean; other decks get the median card (by
deck position) and the modes. No result depends on the order of the votes.

Everything that speaks of "far" or "middle" measures on the deck's own scale: a card's
step is its position among the deck's estimate cards. The median position of the counted
votes (halfway between the two middle ones when their number is even) is the centre;
the median card sits there (the higher of two when the centre falls between them); an
outlier is a vote two or more steps from the centre.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping
from enum import Enum
from fractions import Fraction

from attrs import frozen

from agiletoolbox.domain.deck import Card, Deck
from agiletoolbox.domain.ids import AccountId

OUTLIER_DISTANCE = 2
"""How many deck steps from the median position make a vote an outlier."""

MIN_VOTES_FOR_OUTLIERS = 3
"""Below this many counted votes there is no majority for anyone to stand out from."""


class SuggestionRule(Enum):
    """How a room turns a revealed round into the estimate it suggests to its owner."""

    AUTO = "auto"
    """The most common card when it holds a majority of the counted votes, else the median
    card (the default)."""
    MOST_COMMON = "most-common"
    """The most common card; a tie goes to the one nearest the median, then the higher."""
    MEDIAN = "median"
    """The median card."""
    MEAN = "mean"
    """The card nearest the mean (numeric decks; other decks fall back to the median card)."""


@frozen
class Suggestion:
    """The estimate a revealed round suggests, and which rule picked it."""

    card: str
    """The label of the suggested card (always an estimate card of the deck)."""
    by: SuggestionRule
    """The rule that picked it: most common, median or mean (never auto)."""


@frozen
class Spread:
    """The range of the counted votes on the deck's scale (deck order)."""

    min: str
    """Label of the lowest counted card."""
    max: str
    """Label of the highest counted card."""


@frozen
class Consensus:
    """The statistics of one revealed round."""

    count: int
    """Number of votes that count (cards that are not special)."""
    specials: tuple[tuple[str, int], ...]
    """Special cards cast, as (label, how many), in deck order."""
    mean: float | None
    """Mean of the counted values, rounded once from the exact mean; numeric decks only,
    else None (also when nothing counts)."""
    median: float | str | None
    """Numeric deck: median value (may fall between cards); other decks: the label of the
    median card; None when nothing counts."""
    modes: tuple[str, ...]
    """Labels of the most frequent counted cards, in deck order."""
    agreement: float
    """Share of the counted votes on a mode, from 0 to 1 (0 when nothing counts)."""
    spread: Spread | None
    """Lowest and highest counted card; None when nothing counts."""
    closest_card: str | None
    """Numeric deck: the estimate card nearest the mean (a tie goes to the higher card)."""
    outliers: tuple[AccountId, ...]
    """Voters 2 or more deck steps from the median position, sorted; only with 3 or more
    counted votes."""
    unanimous: bool
    """At least 2 votes, all on the same card, and that card is not special."""
    suggestion: Suggestion | None = None
    """The estimate the room's rule suggests; None when nothing counts."""


def consensus(
    deck: Deck, votes: Mapping[AccountId, str], rule: SuggestionRule = SuggestionRule.AUTO
) -> Consensus:
    """The consensus of `votes` (voter → label of the card held) on `deck`, suggesting an
    estimate by `rule`.

    Raises `InvalidValue` when a label is not a card of the deck.
    """
    cards = {voter: deck.card(label) for voter, label in votes.items()}
    tally = Counter(card.label for card in cards.values())
    specials = tuple(
        (card.label, tally[card.label]) for card in deck.cards if card.special and tally[card.label]
    )
    counted = {voter: card for voter, card in cards.items() if not card.special}
    if not counted:
        return Consensus(0, specials, None, None, (), 0.0, None, None, (), unanimous=False)

    count = len(counted)
    estimates = deck.estimates
    steps = {card.label: step for step, card in enumerate(estimates)}
    # Everything ordinal goes by deck position, never by the order of the mapping.
    ordered = sorted(counted.values(), key=lambda card: steps[card.label])
    centre = _centre([steps[card.label] for card in ordered])
    median_card = estimates[math.ceil(centre)]
    top = max(tally[card.label] for card in ordered)
    modes = tuple(card for card in estimates if tally[card.label] == top)
    mean: float | None = None
    median: float | str = median_card.label
    closest: Card | None = None
    if deck.numeric:
        values = [card.value for card in ordered if card.value is not None]
        # Exact, then rounded once: fsum(values) / count rounds twice and can land one ulp
        # outside the votes (three votes of 0.7232641789184460 average to ...461).
        exact_mean = sum(map(Fraction, values), Fraction(0)) / count
        mean = float(exact_mean)
        median = statistics.median(values)
        closest = _closest(deck, exact_mean)
    return Consensus(
        count=count,
        specials=specials,
        mean=mean,
        median=median,
        modes=tuple(card.label for card in modes),
        agreement=top / count,
        spread=Spread(ordered[0].label, ordered[-1].label),
        closest_card=closest.label if closest else None,
        outliers=_outliers(counted, steps, centre) if count >= MIN_VOTES_FOR_OUTLIERS else (),
        # One card in all, and something counted, so that card is an estimate.
        unanimous=len(votes) >= 2 and len(tally) == 1,
        suggestion=_suggest(rule, modes, top, count, median_card, closest, steps, centre),
    )


def _centre(positions: list[int]) -> float:
    """The median of sorted deck positions (halfway between the middle two if even)."""
    middle = len(positions) // 2
    if len(positions) % 2:
        return float(positions[middle])
    return (positions[middle - 1] + positions[middle]) / 2


def _suggest(
    rule: SuggestionRule,
    modes: tuple[Card, ...],
    top: int,
    count: int,
    median_card: Card,
    closest: Card | None,
    steps: Mapping[str, int],
    centre: float,
) -> Suggestion:
    """The estimate `rule` picks (see `SuggestionRule`)."""
    if rule is SuggestionRule.MEAN and closest is not None:
        return Suggestion(closest.label, SuggestionRule.MEAN)
    most_common = min(modes, key=lambda card: (abs(steps[card.label] - centre), -steps[card.label]))
    if rule is SuggestionRule.MOST_COMMON or (rule is SuggestionRule.AUTO and 2 * top > count):
        return Suggestion(most_common.label, SuggestionRule.MOST_COMMON)
    return Suggestion(median_card.label, SuggestionRule.MEDIAN)


def _closest(deck: Deck, mean: Fraction) -> Card:
    """The estimate card nearest `mean`; a tie goes to the higher value."""
    # Exact arithmetic, so that a mean right between two cards is a true tie.
    candidates = [(card, card.value) for card in deck.estimates if card.value is not None]
    return min(candidates, key=lambda pair: (abs(Fraction(pair[1]) - mean), -pair[1]))[0]


def _outliers(
    counted: Mapping[AccountId, Card], steps: Mapping[str, int], centre: float
) -> tuple[AccountId, ...]:
    """The voters whose card is `OUTLIER_DISTANCE` or more deck steps from `centre`."""
    return tuple(
        sorted(
            voter
            for voter, card in counted.items()
            if abs(steps[card.label] - centre) >= OUTLIER_DISTANCE
        )
    )
