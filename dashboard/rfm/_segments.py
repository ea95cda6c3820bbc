"""The RFM segment rule table and its evaluation.

The rules are written once, here, and shown as they are on the Customer Value page. They
are evaluated from top to bottom on the 1-5 scores and the first rule that matches names
the segment. The order matters: a rule must come before any broader rule that would
otherwise swallow it. The classic table this replaces listed "At Risk" (R 1-2, F 2-5,
M 2-5) before "Cannot Lose Them" (R 1, F 4-5, M 4-5), so nobody was ever put in the
latter; here "Cannot Lose Them" comes first. Together the rules cover every one of the
125 score combinations, so each customer gets exactly one segment
(``tests/unit/test_rfm.py`` enumerates them all).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

SCORE_LEVELS = 5
"""Segments are defined on scores 1..5 (fifths of the customers' ranks)."""


@dataclass(frozen=True)
class SegmentRule:
    """One row of the rule table: inclusive score ranges, what it means, what to do.

    Attributes:
        name: Segment name.
        r: ``(low, high)`` recency score range (5 = bought most recently).
        f: ``(low, high)`` frequency score range (5 = most orders).
        m: ``(low, high)`` monetary score range (5 = spent the most).
        meaning: What customers in this segment have in common, in plain words.
        action: A suggested marketing action.
    """

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]
    meaning: str
    action: str

    def matches(self, r: int, f: int, m: int) -> bool:
        """Return True when the scores fall in all three ranges."""
        return (
            self.r[0] <= r <= self.r[1]
            and self.f[0] <= f <= self.f[1]
            and self.m[0] <= m <= self.m[1]
        )

    def to_dict(self) -> dict:
        """Return the rule as shown in the page (ranges as "4–5" text)."""
        return {
            "segment": self.name,
            "r": _span(self.r),
            "f": _span(self.f),
            "m": _span(self.m),
            "meaning": self.meaning,
            "action": self.action,
        }


def _span(bounds: tuple[int, int]) -> str:
    low, high = bounds
    if (low, high) == (1, SCORE_LEVELS):
        return "any"
    return str(low) if low == high else f"{low}–{high}"


#: The rule table, in evaluation order (first match wins).
SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule(
        "Champions",
        (4, 5), (4, 5), (4, 5),
        "Bought recently, buy often and spend the most.",
        "Reward them: early access, loyalty perks; ask for reviews and referrals.",
    ),
    SegmentRule(
        "Loyal",
        (3, 5), (3, 5), (1, 5),
        "Rank high on orders and came back recently.",
        "Upsell higher-value products; invite them to the loyalty programme.",
    ),
    SegmentRule(
        "Cannot Lose Them",
        (1, 2), (4, 5), (4, 5),
        "Used to buy often and spend a lot, but have not come back for a long time.",
        "Win them back personally, with their favourite products; do not lose them to a "
        "competitor.",
    ),
    SegmentRule(
        "At Risk",
        (1, 2), (3, 5), (1, 5),
        "Ranked high on orders, but bought long ago.",
        "Send personalised reactivation offers and reminders.",
    ),
    SegmentRule(
        "New Customers",
        (5, 5), (1, 1), (1, 5),
        "Bought very recently, for the first time.",
        "Welcome them: onboarding, help with the first use, a reason to buy again.",
    ),
    SegmentRule(
        "Potential Loyalists",
        (4, 5), (2, 2), (1, 5),
        "Recent customers with more than a first order.",
        "Offer a membership or loyalty programme; recommend related products.",
    ),
    SegmentRule(
        "Promising",
        (4, 4), (1, 1), (1, 5),
        "Recent first-time buyers, a little less recent than new customers.",
        "Build the relationship: free delivery or a small offer on the next order.",
    ),
    SegmentRule(
        "Need Attention",
        (3, 3), (1, 2), (3, 5),
        "Average recency, few orders, but above-average spend.",
        "Limited-time offers based on what they bought; reactivate them before they slip.",
    ),
    SegmentRule(
        "About to Sleep",
        (3, 3), (1, 2), (1, 2),
        "Average recency, few orders and low spend: they drift away without a nudge.",
        "Share popular products and discounts; reconnect with them.",
    ),
    SegmentRule(
        "Lost",
        (1, 1), (1, 2), (1, 2),
        "Lowest recency, frequency and spend.",
        "Try one broad reactivation campaign; otherwise spend nothing on them.",
    ),
    SegmentRule(
        "Hibernating",
        (1, 2), (1, 2), (1, 5),
        "Last bought long ago, with few orders.",
        "Offer relevant products and special discounts; recreate brand value.",
    ),
)  # fmt: skip

SEGMENT_NAMES: tuple[str, ...] = tuple(rule.name for rule in SEGMENT_RULES)


def segment_for(r: int, f: int, m: int) -> str:
    """Return the segment of one (R, F, M) combination of 1..5 scores.

    Raises:
        ValueError: A score is outside 1..5 (no rule matches).
    """
    for rule in SEGMENT_RULES:
        if rule.matches(r, f, m):
            return rule.name
    raise ValueError(f"No segment for scores R={r}, F={f}, M={m}; scores must be 1..5.")


def _lookup() -> np.ndarray:
    """Return the 5×5×5 table of segment codes (index into ``SEGMENT_NAMES``)."""
    table = np.empty((SCORE_LEVELS,) * 3, dtype=np.int8)
    levels = range(1, SCORE_LEVELS + 1)
    for r, f, m in product(levels, levels, levels):
        table[r - 1, f - 1, m - 1] = SEGMENT_NAMES.index(segment_for(r, f, m))
    return table


_LOOKUP = _lookup()


def assign_segments(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Return the segment code (index into ``SEGMENT_NAMES``) of each customer.

    Args:
        r: Recency scores, 1..5.
        f: Frequency scores, 1..5 (same length).
        m: Monetary scores, 1..5 (same length).
    """
    return _LOOKUP[np.asarray(r) - 1, np.asarray(f) - 1, np.asarray(m) - 1]


def rules_table() -> list[dict]:
    """Return the rule table as rows for the page, in evaluation order."""
    return [{"order": i + 1, **rule.to_dict()} for i, rule in enumerate(SEGMENT_RULES)]
