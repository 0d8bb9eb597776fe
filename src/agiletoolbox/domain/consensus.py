"""The consensus of a revealed round: what the votes say, in numbers and on the deck.

Special cards (`?`, `☕`, `∞`, `Pass`) never count: they are only tallied. Numeric decks
get mean, median and the card closest to the mean; other decks get the ordinal median
(by deck position) and the modes. No result depends on the order of the votes.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from fractions import Fraction

from attrs import frozen

from agiletoolbox.domain.deck import Card, Deck
from agiletoolbox.domain.ids import AccountId

OUTLIER_DISTANCE = 2
"""How many estimate-card positions away from the reference card make a vote an outlier."""

MIN_VOTES_FOR_OUTLIERS = 3
"""Below this many counted votes there is no majority for anyone to stand out from."""


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
    lower-middle counted card by deck position; None when nothing counts."""
    modes: tuple[str, ...]
    """Labels of the most frequent counted cards, in deck order."""
    agreement: float
    """Share of the counted votes on a mode, from 0 to 1 (0 when nothing counts)."""
    spread: Spread | None
    """Lowest and highest counted card; None when nothing counts."""
    closest_card: str | None
    """Numeric deck: the estimate card nearest the mean (a tie goes to the higher card)."""
    outliers: tuple[AccountId, ...]
    """Voters 2 or more estimate-card positions from the reference card (the closest card on
    numeric decks, the ordinal median otherwise), sorted; only with 3 or more counted votes."""
    unanimous: bool
    """At least 2 votes, all on the same card, and that card is not special."""


def consensus(deck: Deck, votes: Mapping[AccountId, str]) -> Consensus:
    """The consensus of `votes` (voter → label of the card held) on `deck`.

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
    # Everything ordinal goes by deck position, never by the order of the mapping.
    ordered = sorted(counted.values(), key=lambda card: deck.index(card.label))
    top = max(tally[card.label] for card in ordered)
    mean: float | None = None
    median: float | str
    closest: str | None = None
    reference = ordered[(count - 1) // 2]
    if deck.numeric:
        values = [card.value for card in ordered if card.value is not None]
        # Exact, then rounded once: fsum(values) / count rounds twice and can land one ulp
        # outside the votes (three votes of 0.7232641789184460 average to ...461).
        exact_mean = sum(map(Fraction, values), Fraction(0)) / count
        mean = float(exact_mean)
        median = statistics.median(values)
        reference = _closest(deck, exact_mean)
        closest = reference.label
    else:
        median = reference.label
    return Consensus(
        count=count,
        specials=specials,
        mean=mean,
        median=median,
        modes=tuple(card.label for card in deck.estimates if tally[card.label] == top),
        agreement=top / count,
        spread=Spread(ordered[0].label, ordered[-1].label),
        closest_card=closest,
        outliers=_outliers(deck, counted, reference) if count >= MIN_VOTES_FOR_OUTLIERS else (),
        # One card in all, and something counted, so that card is an estimate.
        unanimous=len(votes) >= 2 and len(tally) == 1,
    )


def _closest(deck: Deck, mean: Fraction) -> Card:
    """The estimate card nearest `mean`; a tie goes to the higher value."""
    # Exact arithmetic, so that a mean right between two cards is a true tie.
    candidates = [(card, card.value) for card in deck.estimates if card.value is not None]
    return min(candidates, key=lambda pair: (abs(Fraction(pair[1]) - mean), -pair[1]))[0]


def _outliers(
    deck: Deck, counted: Mapping[AccountId, Card], reference: Card
) -> tuple[AccountId, ...]:
    """The voters whose card is `OUTLIER_DISTANCE` or more estimate positions from `reference`."""
    positions = {card.label: position for position, card in enumerate(deck.estimates)}
    anchor = positions[reference.label]
    return tuple(
        sorted(
            voter
            for voter, card in counted.items()
            if abs(positions[card.label] - anchor) >= OUTLIER_DISTANCE
        )
    )
