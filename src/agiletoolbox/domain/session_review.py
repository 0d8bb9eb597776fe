"""How an async session's async phase ended for one issue, in counts only.

The review reads each room's hidden votes for two numbers: how many voted and how far they
agreed (`consensus`'s agreement). Which cards were played stays in the room. An issue whose
votes all hold the same estimate card can be accepted without discussion (`agreed_card`).
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from agiletoolbox.domain.consensus import SuggestionRule, consensus
from agiletoolbox.domain.deck import Deck
from agiletoolbox.domain.ids import AccountId

UNANIMOUS_VOTES = 2
"""The fewest votes that can be unanimous (one vote agrees with nobody)."""


@frozen
class ReviewMark:
    """How the async phase ended for one issue: how many voted and how far they agreed
    (`consensus`'s agreement of the hidden votes; None when no vote counted). Counts only:
    which cards were played stays in the issue's room."""

    votes: int
    agreement: float | None

    @property
    def unanimous(self) -> bool:
        """Whether at least two people voted and every counted vote was the same card."""
        return self.votes >= UNANIMOUS_VOTES and self.agreement == 1.0

    @classmethod
    def of(cls, cards: Deck, votes: Mapping[AccountId, str], rule: SuggestionRule) -> ReviewMark:
        """The mark of a room's open round: its votes counted, their agreement measured."""
        if not votes:
            return cls(0, None)
        result = consensus(cards, votes, rule)
        return cls(len(votes), result.agreement if result.count else None)


def agreed_card(cards: Deck, votes: Mapping[AccountId, str]) -> str | None:
    """The card every vote holds, when at least two people voted and it is an estimate
    card (not `?` or a break); None otherwise."""
    labels = set(votes.values())
    if len(votes) < UNANIMOUS_VOTES or len(labels) != 1:
        return None
    (label,) = labels
    return None if cards.card(label).special else label
