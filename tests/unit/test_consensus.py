"""Consensus of a revealed round: worked examples per deck, then properties."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from fractions import Fraction
from random import Random

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.domain.consensus import (
    Consensus,
    Spread,
    Suggestion,
    SuggestionRule,
    consensus,
)
from agiletoolbox.domain.deck import (
    COFFEE,
    FIBONACCI,
    INFINITY,
    LINEAR,
    MODIFIED_FIBONACCI,
    PASS,
    POWERS_OF_TWO,
    QUESTION,
    SPECIAL_LABELS,
    STANDARD_DECKS,
    T_SHIRT,
    Deck,
)
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import AccountId


def voter(n: int) -> AccountId:
    """A voter's account id, numbered for readable examples."""
    return AccountId(f"acc-{n:03d}")


def ballot(*labels: str) -> dict[AccountId, str]:
    """Votes for the labels, one voter each, voters numbered from 1 in order."""
    return {voter(n): label for n, label in enumerate(labels, start=1)}


NOTHING_COUNTS = Consensus(
    count=0,
    specials=(),
    mean=None,
    median=None,
    modes=(),
    agreement=0.0,
    spread=None,
    closest_card=None,
    outliers=(),
    unanimous=False,
)


# Worked examples, one deck at a time.


def test_modified_fibonacci_example() -> None:
    result = consensus(MODIFIED_FIBONACCI, ballot("3", "5", "5", "8"))

    assert result == Consensus(
        count=4,
        specials=(),
        mean=5.25,
        median=5.0,
        modes=("5",),
        agreement=0.5,
        spread=Spread("3", "8"),
        closest_card="5",
        outliers=(),
        unanimous=False,
        suggestion=Suggestion("5", SuggestionRule.MEDIAN),
    )


def test_modified_fibonacci_half_card_counts_as_a_half() -> None:
    result = consensus(MODIFIED_FIBONACCI, ballot("½", "½", "2"))

    assert result.mean == 1.0
    assert result.median == 0.5
    assert result.closest_card == "1"
    assert result.spread == Spread("½", "2")


def test_fibonacci_example_with_an_outlier_far_from_the_median() -> None:
    # The median position lies between 2 and 3; only 13 is two or more deck steps off it.
    result = consensus(FIBONACCI, ballot("1", "2", "3", "13"))

    assert result.mean == 4.75
    assert result.median == 2.5
    assert result.modes == ("1", "2", "3", "13")
    assert result.agreement == 0.25
    assert result.spread == Spread("1", "13")
    assert result.closest_card == "5"
    assert result.outliers == (voter(4),)
    assert result.suggestion == Suggestion("3", SuggestionRule.MEDIAN)


def test_the_vote_far_from_the_others_is_the_outlier() -> None:
    # 3, 5, 13: the mean (7) sits near 8, two steps above the 3; but it is the 13 that
    # stands apart from the median card 5, and the one worth a word.
    result = consensus(FIBONACCI, ballot("3", "5", "13"))

    assert result.outliers == (voter(3),)
    assert result.suggestion == Suggestion("5", SuggestionRule.MEDIAN)


def test_powers_of_two_example() -> None:
    result = consensus(POWERS_OF_TWO, ballot("4", "8", "8", "16", "64"))

    assert result.count == 5
    assert result.mean == 20.0
    assert result.median == 8.0
    assert result.modes == ("8",)
    assert result.agreement == pytest.approx(0.4)
    assert result.spread == Spread("4", "64")
    assert result.closest_card == "16"
    assert result.outliers == (voter(5),)
    assert result.suggestion == Suggestion("8", SuggestionRule.MEDIAN)


def test_linear_example() -> None:
    result = consensus(LINEAR, ballot("4", "5", "6"))

    assert result.mean == 5.0
    assert result.median == 5.0
    assert result.modes == ("4", "5", "6")
    assert result.agreement == pytest.approx(1 / 3)
    assert result.closest_card == "5"
    assert result.outliers == ()


@pytest.mark.parametrize(
    ("deck", "labels", "closest"),
    [
        (FIBONACCI, ("2", "3"), "3"),
        (FIBONACCI, ("5", "8"), "8"),
        (MODIFIED_FIBONACCI, ("½", "1"), "1"),
        (LINEAR, ("1", "2"), "2"),
    ],
)
def test_a_mean_right_between_two_cards_goes_to_the_higher(
    deck: Deck, labels: tuple[str, ...], closest: str
) -> None:
    assert consensus(deck, ballot(*labels)).closest_card == closest


def test_a_tie_for_the_mode_lists_every_mode_in_deck_order() -> None:
    result = consensus(FIBONACCI, ballot("8", "5", "8", "5"))

    assert result.modes == ("5", "8")
    assert result.agreement == 0.5
    assert result.median == 6.5  # between cards: the median need not be a card


def test_t_shirt_gets_ordinal_median_and_modes_only() -> None:
    result = consensus(T_SHIRT, ballot("XL", "M", "XS", "M"))

    assert result == Consensus(
        count=4,
        specials=(),
        mean=None,
        median="M",
        modes=("M",),
        agreement=0.5,
        spread=Spread("XS", "XL"),
        closest_card=None,
        outliers=(voter(1), voter(3)),
        unanimous=False,
        suggestion=Suggestion("M", SuggestionRule.MEDIAN),
    )


def test_ordinal_median_of_an_even_count_is_the_card_between_or_the_higher() -> None:
    assert consensus(T_SHIRT, ballot("L", "S")).median == "M"
    assert consensus(T_SHIRT, ballot("M", "S")).median == "M"
    assert consensus(T_SHIRT, ballot("XL", "S")).median == "L"


# The suggested estimate.


def test_a_majority_card_is_suggested_as_the_most_common() -> None:
    # 5, 5, 21: the mean (10.33) is nearest 8, a card nobody played; the team said 5.
    result = consensus(FIBONACCI, ballot("5", "5", "21"))

    assert result.closest_card == "8"
    assert result.suggestion == Suggestion("5", SuggestionRule.MOST_COMMON)


def test_without_a_majority_the_median_card_is_suggested() -> None:
    assert consensus(T_SHIRT, ballot("S", "M", "L")).suggestion == Suggestion(
        "M", SuggestionRule.MEDIAN
    )
    # Half is no majority; the median card lies between 3 and 8, where 5 is.
    assert consensus(FIBONACCI, ballot("3", "3", "8", "13")).suggestion == Suggestion(
        "5", SuggestionRule.MEDIAN
    )


MEAN, MEDIAN, MOST = SuggestionRule.MEAN, SuggestionRule.MEDIAN, SuggestionRule.MOST_COMMON


@pytest.mark.parametrize(
    ("rule", "deck", "labels", "expected"),
    [
        (MEAN, FIBONACCI, ("5", "5", "21"), Suggestion("8", MEAN)),
        # A deck without numbers has no mean: the median card stands in, and says so.
        (MEAN, T_SHIRT, ("S", "M", "XL"), Suggestion("M", MEDIAN)),
        (MEDIAN, FIBONACCI, ("5", "5", "21"), Suggestion("5", MEDIAN)),
        (MEDIAN, FIBONACCI, ("1", "21", "21"), Suggestion("21", MEDIAN)),
        # Most common without a majority; a tie goes to the mode nearest the median card.
        (MOST, FIBONACCI, ("1", "3", "3", "8", "8", "5"), Suggestion("3", MOST)),
        # Equally near: the higher.
        (MOST, FIBONACCI, ("3", "8"), Suggestion("8", MOST)),
    ],
)
def test_each_rule_suggests_its_card(
    rule: SuggestionRule, deck: Deck, labels: tuple[str, ...], expected: Suggestion
) -> None:
    assert consensus(deck, ballot(*labels), rule).suggestion == expected


def test_a_deck_with_an_estimate_card_without_value_is_not_numeric() -> None:
    deck = Deck.custom([("1", 1), ("2", 2), ("huge", None)])

    result = consensus(deck, ballot("1", "2", "2"))

    assert result.mean is None
    assert result.closest_card is None
    assert result.median == "2"
    assert result.modes == ("2",)


def test_the_mean_is_rounded_once_and_stays_on_the_card() -> None:
    # fsum(values) / 3 would give 0.7232641789184461 here: one ulp above every vote.
    deck = Deck.custom([("a", 0.723264178918446), ("b", 1)])

    result = consensus(deck, ballot("a", "a", "a"))

    assert result.mean == 0.723264178918446
    assert result.closest_card == "a"


def test_spread_follows_the_deck_order() -> None:
    deck = Deck.custom([("tiny", None), ("small", 1), ("big", 10)])

    assert consensus(deck, ballot("big", "tiny", "small")).spread == Spread("tiny", "big")


def test_a_deck_whose_numbers_fall_is_refused() -> None:
    with pytest.raises(InvalidValue):
        Deck.custom([("big", 10), ("small", 1)])


# Special cards.


def test_only_question_cards_leave_nothing_to_count() -> None:
    deck = FIBONACCI.with_question_card(True)

    result = consensus(deck, ballot(QUESTION, QUESTION))

    assert result == evolve(NOTHING_COUNTS, specials=((QUESTION, 2),))


def test_no_votes_leave_nothing_to_count() -> None:
    assert consensus(T_SHIRT, {}) == NOTHING_COUNTS


def test_specials_are_tallied_in_deck_order_and_never_counted() -> None:
    deck = Deck.custom(
        [("1", 1), ("2", 2), ("3", 3), (INFINITY, None), (COFFEE, None), (PASS, None)],
    )

    result = consensus(deck, ballot(PASS, COFFEE, "1", COFFEE, "3", "3"))

    assert result.count == 3
    assert result.specials == ((COFFEE, 2), (PASS, 1))
    assert result.mean == pytest.approx(7 / 3)
    assert result.modes == ("3",)
    assert result.agreement == pytest.approx(2 / 3)
    assert result.spread == Spread("1", "3")


def test_a_card_not_in_the_deck_is_refused() -> None:
    with pytest.raises(InvalidValue, match="not a card"):
        consensus(FIBONACCI, ballot("3", QUESTION))


# Outliers and unanimity.


def test_outliers_need_at_least_three_counted_votes() -> None:
    assert consensus(FIBONACCI, ballot("0", "89")).outliers == ()
    deck = FIBONACCI.with_question_card(True)
    assert consensus(deck, ballot("0", "89", QUESTION)).outliers == ()


def test_a_card_two_positions_away_is_an_outlier_and_one_is_not() -> None:
    result = consensus(LINEAR, ballot("5", "5", "5", "6", "7", "3"))

    assert result.closest_card == "5"
    assert result.outliers == (voter(5), voter(6))


@pytest.mark.parametrize(
    ("deck", "labels", "unanimous"),
    [
        (FIBONACCI, ("5",), False),
        (FIBONACCI, ("5", "5"), True),
        (T_SHIRT, ("M", "M", "M"), True),
        (FIBONACCI, ("5", "8"), False),
        (FIBONACCI.with_question_card(True), ("5", "5", QUESTION), False),
        (FIBONACCI.with_question_card(True), (QUESTION, QUESTION), False),
    ],
)
def test_unanimous_needs_two_votes_on_the_same_estimate(
    deck: Deck, labels: tuple[str, ...], unanimous: bool
) -> None:
    assert consensus(deck, ballot(*labels)).unanimous is unanimous


def test_a_unanimous_round_agrees_fully() -> None:
    result = consensus(MODIFIED_FIBONACCI, ballot("13", "13", "13"))

    assert result.unanimous
    assert result.agreement == 1.0
    assert result.mean == result.median == 13.0
    assert result.closest_card == "13"
    assert result.spread == Spread("13", "13")
    assert result.outliers == ()


# Properties.

SPECIAL_CARDS = sorted(SPECIAL_LABELS)
LABEL = st.text(
    alphabet=st.characters(categories=("L", "N"), max_codepoint=0x2FF), min_size=1, max_size=8
).filter(lambda label: label not in SPECIAL_LABELS)


@st.composite
def custom_numeric_decks(draw: st.DrawFn) -> Deck:
    """A team's own numeric deck: distinct labels, distinct ascending values, a few specials."""
    values = draw(
        st.lists(
            st.floats(min_value=0, max_value=1_000_000, allow_nan=False),
            min_size=1,
            max_size=12,
            unique=True,
        )
    )
    labels = draw(st.lists(LABEL, min_size=len(values), max_size=len(values), unique=True))
    specials = draw(st.lists(st.sampled_from(SPECIAL_CARDS), unique=True))
    cards: list[tuple[str, float | None]] = [*zip(labels, sorted(values), strict=True)]
    return Deck.custom([*cards, *((label, None) for label in specials)])


DECKS = st.one_of(
    st.sampled_from(list(STANDARD_DECKS.values())),
    st.sampled_from(list(STANDARD_DECKS.values())).map(lambda d: d.with_question_card(True)),
    custom_numeric_decks(),
)


@st.composite
def rounds(draw: st.DrawFn) -> tuple[Deck, dict[AccountId, str]]:
    """A deck and the votes of a revealed round on it."""
    deck = draw(DECKS)
    numbers = draw(st.lists(st.integers(0, 999), unique=True, max_size=15))
    labels = st.sampled_from([card.label for card in deck.cards])
    return deck, {voter(n): draw(labels) for n in numbers}


def counted_labels(deck: Deck, votes: dict[AccountId, str]) -> list[str]:
    """The labels of the votes that count."""
    return [label for label in votes.values() if not deck.card(label).special]


@given(rounds(), st.randoms())
def test_the_order_of_the_votes_does_not_matter(
    round_: tuple[Deck, dict[AccountId, str]], random: Random
) -> None:
    deck, votes = round_
    items = list(votes.items())
    random.shuffle(items)

    assert consensus(deck, dict(items)) == consensus(deck, votes)


@given(rounds(), st.data())
def test_the_same_cards_held_by_other_voters_give_the_same_stats(
    round_: tuple[Deck, dict[AccountId, str]], data: st.DataObject
) -> None:
    deck, votes = round_
    others = data.draw(
        st.lists(st.integers(1000, 9999), unique=True, min_size=len(votes), max_size=len(votes))
    )
    renamed = dict(zip(votes, map(voter, others), strict=True))
    original = consensus(deck, votes)

    moved = consensus(deck, {renamed[who]: label for who, label in votes.items()})

    assert evolve(moved, outliers=()) == evolve(original, outliers=())
    assert moved.outliers == tuple(sorted(renamed[who] for who in original.outliers))


@given(rounds())
def test_every_vote_is_counted_or_tallied_as_special(
    round_: tuple[Deck, dict[AccountId, str]],
) -> None:
    deck, votes = round_

    result = consensus(deck, votes)

    assert result.count == len(counted_labels(deck, votes))
    assert result.count + sum(n for _, n in result.specials) == len(votes)
    assert all(deck.card(label).special for label, _ in result.specials)


@given(rounds())
def test_modes_are_the_most_frequent_counted_cards(
    round_: tuple[Deck, dict[AccountId, str]],
) -> None:
    deck, votes = round_
    frequency = Counter(counted_labels(deck, votes))

    result = consensus(deck, votes)

    assert set(result.modes) <= set(frequency)
    assert list(result.modes) == sorted(result.modes, key=deck.index)
    if result.count == 0:
        assert result.modes == ()
        assert result.agreement == 0.0
        return
    top = max(frequency.values())
    assert {label for label, n in frequency.items() if n == top} == set(result.modes)
    assert 0 < result.agreement <= 1
    on_mode = result.agreement * result.count
    assert round(on_mode) == top
    assert on_mode == pytest.approx(top)


@given(rounds())
def test_mean_and_median_lie_within_the_spread(
    round_: tuple[Deck, dict[AccountId, str]],
) -> None:
    deck, votes = round_

    result = consensus(deck, votes)

    if result.spread is None:
        assert result.count == 0
        assert result.median is None
        return
    low, high = deck.card(result.spread.min), deck.card(result.spread.max)
    assert deck.index(low.label) <= deck.index(high.label)
    if isinstance(result.median, str):
        assert deck.index(low.label) <= deck.index(result.median) <= deck.index(high.label)
    if deck.numeric:
        assert low.value is not None
        assert high.value is not None
        assert result.mean is not None
        assert isinstance(result.median, float)
        assert low.value <= result.mean <= high.value
        assert low.value <= result.median <= high.value
    else:
        assert result.mean is None


@given(rounds())
def test_the_closest_card_is_the_estimate_nearest_the_mean(
    round_: tuple[Deck, dict[AccountId, str]],
) -> None:
    deck, votes = round_

    result = consensus(deck, votes)

    if result.count == 0 or not deck.numeric:
        assert result.closest_card is None
        return
    assert result.closest_card in {card.label for card in deck.estimates}
    values = [deck.card(label).value or 0.0 for label in counted_labels(deck, votes)]
    mean = sum(map(Fraction, values), Fraction(0)) / len(values)
    closest = deck.card(result.closest_card).value
    assert closest is not None
    assert all(
        abs(Fraction(closest) - mean) <= abs(Fraction(card.value) - mean)
        for card in deck.estimates
        if card.value is not None
    )


@given(rounds())
def test_outliers_and_unanimity_follow_their_rules(
    round_: tuple[Deck, dict[AccountId, str]],
) -> None:
    deck, votes = round_

    result = consensus(deck, votes)

    assert list(result.outliers) == sorted(result.outliers)
    assert set(result.outliers) <= {
        who for who, label in votes.items() if not deck.card(label).special
    }
    if result.count < 3:
        assert result.outliers == ()
    same_estimate = len(set(votes.values())) == 1 and result.count == len(votes)
    assert result.unanimous is (len(votes) >= 2 and same_estimate)
    if result.unanimous:
        assert result.agreement == 1.0
        assert result.outliers == ()


def deck_steps(deck: Deck, votes: dict[AccountId, str]) -> dict[AccountId, int]:
    """Each counted vote's step: its card's position among the deck's estimate cards."""
    steps = [card.label for card in deck.cards if not card.special]
    return {who: steps.index(label) for who, label in votes.items() if label in steps}


@given(rounds())
def test_outliers_are_the_votes_two_deck_steps_or_more_from_the_median(
    round_: tuple[Deck, dict[AccountId, str]],
) -> None:
    deck, votes = round_
    steps = deck_steps(deck, votes)

    result = consensus(deck, votes)

    if len(steps) < 3:
        assert result.outliers == ()
    else:
        centre = statistics.median(steps.values())
        assert set(result.outliers) == {w for w, s in steps.items() if abs(s - centre) >= 2}


@given(rounds(), st.sampled_from(list(SuggestionRule)))
def test_the_suggestion_follows_its_rule(
    round_: tuple[Deck, dict[AccountId, str]], rule: SuggestionRule
) -> None:
    deck, votes = round_
    steps = deck_steps(deck, votes)
    estimates = [card for card in deck.cards if not card.special]

    result = consensus(deck, votes, rule)

    if not steps:
        assert result.suggestion is None
        return
    assert result.suggestion is not None
    suggested = deck.card(result.suggestion.card)
    assert not suggested.special
    median_card = estimates[math.ceil(statistics.median(steps.values()))].label
    assert result.median == median_card or deck.numeric
    counts = Counter(votes[who] for who in steps)
    majority = 2 * max(counts.values()) > len(steps)
    by = result.suggestion.by
    if rule is SuggestionRule.MEAN and deck.numeric:
        assert result.suggestion == Suggestion(result.closest_card or "", SuggestionRule.MEAN)
    elif rule is SuggestionRule.MOST_COMMON or (rule is SuggestionRule.AUTO and majority):
        assert by is SuggestionRule.MOST_COMMON
        assert result.suggestion.card in result.modes
    else:
        assert result.suggestion == Suggestion(median_card, SuggestionRule.MEDIAN)
