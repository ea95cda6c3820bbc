"""Customer lifetime value: what each customer has brought, and a simple prediction.

Historic figures per customer:

* historic value = the customer's monetary total (net of returns when they are netted);
* average order value = historic value ÷ orders;
* lifespan = days between the first and the last purchase;
* orders per year = orders ÷ years since the first purchase, counting at least
  ``MIN_TENURE_DAYS`` so that a customer who joined last week is not credited with
  fifty orders a year.

The prediction is the textbook formula, kept deliberately simple and shown on the page:

    predicted CLV = average order value × orders per year × expected lifetime × margin

with expected lifetime (years) = 1 ÷ churn rate, and churn rate = 1 − repeat rate, the
repeat rate being the share of customers who ordered more than once. The churn rate is
kept at or above ``MIN_CHURN_RATE`` (an expected lifetime of at most 20 years). Margin is
the share of revenue that is profit (1 = predict revenue).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MIN_TENURE_DAYS = 91
MIN_CHURN_RATE = 0.05
DAYS_PER_YEAR = 365.25

CLV_FORMULA = (
    "Predicted CLV = average order value × orders per year × expected lifetime (years) × "
    "margin. Orders per year = orders ÷ years since the first purchase (at least "
    f"{MIN_TENURE_DAYS} days). Expected lifetime = 1 ÷ churn rate, where churn rate = "
    "1 − the share of customers who ordered more than once (at least "
    f"{MIN_CHURN_RATE:.0%}, i.e. at most {1 / MIN_CHURN_RATE:.0f} years)."
)


@dataclass(frozen=True)
class ClvParameters:
    """The population figures the prediction uses.

    Attributes:
        repeat_rate: Share of customers with more than one order.
        churn_rate: ``max(1 − repeat_rate, MIN_CHURN_RATE)``.
        expected_lifetime_years: ``1 / churn_rate``.
        margin: Share of revenue counted as value (1 = revenue).
        formula: The formula in words.
    """

    repeat_rate: float
    churn_rate: float
    expected_lifetime_years: float
    margin: float
    formula: str = CLV_FORMULA

    def to_dict(self) -> dict:
        """Return the parameters as JSON-able values."""
        return asdict(self)


def lifetime_value(
    frequency: np.ndarray,
    monetary: np.ndarray,
    first_day: np.ndarray,
    last_day: np.ndarray,
    as_of_day: int,
    *,
    margin: float = 1.0,
) -> tuple[dict[str, np.ndarray], ClvParameters]:
    """Return the per-customer CLV columns and the parameters used.

    Args:
        frequency: Orders per customer (at least 1).
        monetary: Historic value per customer (positive).
        first_day: First purchase per customer, as a day number.
        last_day: Last purchase per customer, as a day number.
        as_of_day: The reference day.
        margin: Share of revenue that is profit, 0 < margin <= 1.

    Returns:
        ``({"lifespan_days", "avg_order_value", "orders_per_year", "predicted_clv"}, params)``.
    """
    frequency = np.asarray(frequency, dtype=np.float64)
    monetary = np.asarray(monetary, dtype=np.float64)
    repeat_rate = float(np.mean(frequency > 1)) if frequency.size else 0.0
    churn = max(1.0 - repeat_rate, MIN_CHURN_RATE)
    params = ClvParameters(
        repeat_rate=repeat_rate,
        churn_rate=churn,
        expected_lifetime_years=1.0 / churn,
        margin=float(margin),
    )
    tenure_years = np.maximum(as_of_day - np.asarray(first_day), MIN_TENURE_DAYS) / DAYS_PER_YEAR
    avg_order = monetary / frequency
    per_year = frequency / tenure_years
    columns = {
        "lifespan_days": (np.asarray(last_day) - np.asarray(first_day)).astype(np.int32),
        "avg_order_value": np.round(avg_order, 2),
        "orders_per_year": np.round(per_year, 3),
        "predicted_clv": np.round(
            avg_order * per_year * params.expected_lifetime_years * margin, 2
        ),
    }
    return columns, params
