"""Sample datasets a user can try without uploading anything (no download ever).

Real tables come from CSV files shipped inside installed packages (plotly, scikit-learn),
read straight from the package folders; scikit-learn is never imported. The retail
transactions are generated, deterministically.
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from dashboard.errors import DataLoadError, InvalidParameter

log = logging.getLogger(__name__)

_WINE_FEATURES = (
    "alcohol malic_acid ash alcalinity_of_ash magnesium total_phenols flavanoids "
    "nonflavanoid_phenols proanthocyanins color_intensity hue od280_od315_of_diluted_wines "
    "proline"
).split()
_CANCER_MEASURES = (
    "radius texture perimeter area smoothness compactness concavity concave_points "
    "symmetry fractal_dimension"
).split()
_CANCER_FEATURES = [
    f"{prefix}_{measure}" for prefix in ("mean", "error", "worst") for measure in _CANCER_MEASURES
]
_RETAIL_COLUMNS = (
    "invoice",
    "customer_id",
    "invoice_date",
    "product",
    "quantity",
    "unit_price",
    "amount",
)


@dataclass(frozen=True)
class SampleDataset:
    """A sample table offered on the home page.

    Attributes:
        name: Identifier passed to `write_sample`.
        title: Short human title.
        description: One or two sentences: what the rows are and what to try.
        good_for: Analyses it suits: ``profile``, ``ml-classification``, ``ml-regression``,
            ``rfm``, ``basket``.
        columns: Column names of the written CSV, in order.
        target: Column to predict, for the machine-learning samples.
    """

    name: str
    title: str
    description: str
    good_for: tuple[str, ...]
    columns: tuple[str, ...]
    target: str | None = None


SAMPLES: tuple[SampleDataset, ...] = (
    SampleDataset(
        "tips",
        "Restaurant tips",
        "244 restaurant bills with the tip, party size, day and time. Predict the tip "
        "(regression) or whether the party smokes (classification).",
        ("profile", "ml-regression", "ml-classification"),
        ("total_bill", "tip", "sex", "smoker", "day", "time", "size"),
        "tip",
    ),
    SampleDataset(
        "wine",
        "Wine cultivars",
        "178 Italian wines, 13 chemical measurements each; predict which of three "
        "cultivars the grapes came from.",
        ("profile", "ml-classification"),
        (*_WINE_FEATURES, "cultivar"),
        "cultivar",
    ),
    SampleDataset(
        "breast_cancer",
        "Breast cancer diagnosis",
        "569 breast-mass biopsies described by 30 cell-nucleus measurements; predict "
        "whether the mass is malignant or benign (binary classification).",
        ("profile", "ml-classification"),
        (*_CANCER_FEATURES, "diagnosis"),
        "diagnosis",
    ),
    SampleDataset(
        "iris",
        "Iris flowers",
        "150 iris flowers of three species with sepal and petal sizes; the classic "
        "first classification problem.",
        ("profile", "ml-classification"),
        ("sepal_length", "sepal_width", "petal_length", "petal_width", "species", "species_id"),
        "species",
    ),
    SampleDataset(
        "gapminder",
        "Gapminder countries",
        "Life expectancy, population and GDP per capita of 142 countries every five years "
        "from 1952 to 2007; good for profiling and correlations.",
        ("profile", "ml-regression"),
        (
            "country",
            "continent",
            "year",
            "lifeExp",
            "pop",
            "gdpPercap",
            "iso_alpha",
            "iso_num",
            "centroid_lon",
            "centroid_lat",
        ),
        "lifeExp",
    ),
    SampleDataset(
        "retail_transactions",
        "Grocery shop transactions",
        "About 20,000 invoice lines of a grocery shop over 2024 (generated): customers for "
        "RFM segments, and baskets with real co-purchases (pasta and sauce, bread and "
        "butter...) for association rules. Invoices starting with C are returns.",
        ("profile", "rfm", "basket"),
        _RETAIL_COLUMNS,
    ),
)
_BY_NAME = {sample.name: sample for sample in SAMPLES}


def _package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataLoadError(f"This sample needs the '{package}' package, which is not installed.")
    return Path(next(iter(spec.submodule_search_locations)))


def _plotly_file(name: str) -> Path:
    return _package_dir("plotly") / "package_data" / "datasets" / f"{name}.csv.gz"


def _sklearn_frame(file_name: str, features: list[str], target: str) -> pd.DataFrame:
    """Read a scikit-learn CSV whose first line is ``n_rows,n_features,class names...``."""
    path = _package_dir("sklearn") / "datasets" / "data" / file_name
    with path.open(newline="") as handle:
        n_rows, n_features, *class_names = next(csv.reader(handle))
    if int(n_features) != len(features):
        raise DataLoadError(f"The sample file {file_name} has an unexpected layout.")
    frame = pd.read_csv(path, skiprows=1, header=None, names=[*features, target])
    if len(frame) != int(n_rows):
        raise DataLoadError(f"The sample file {file_name} is incomplete.")
    frame[target] = frame[target].map(dict(enumerate(class_names)))
    return frame


# Products: name -> unit price. Themes: baskets people buy together, with the chance that
# each item is in the basket when the theme is.
_PRICES = {
    "bread": 2.20, "butter": 2.80, "jam": 3.10, "eggs": 2.90, "milk": 1.10, "coffee": 6.50,
    "orange juice": 2.60, "cereal": 3.90, "spaghetti": 1.40, "tomato sauce": 2.10,
    "parmesan": 4.80, "basil": 1.50, "olive oil": 7.90, "red wine": 8.50, "garlic": 0.60,
    "sausages": 4.20, "burger buns": 1.90, "ketchup": 2.30, "mustard": 1.70, "charcoal": 6.90,
    "beer": 1.30, "corn on the cob": 0.90, "flour": 1.20, "sugar": 1.00, "baking powder": 0.80,
    "vanilla extract": 3.60, "chocolate chips": 2.70, "tea": 3.40, "biscuits": 1.80,
    "honey": 4.50, "lemons": 0.40, "scones": 2.50, "lettuce": 1.10, "tomatoes": 2.40,
    "cucumber": 0.70, "feta cheese": 2.90, "olives": 2.60, "salad dressing": 2.20,
    "tortillas": 2.00, "salsa": 2.40, "avocados": 1.20, "sour cream": 1.30,
    "cheddar cheese": 3.30, "black beans": 1.10, "limes": 0.35, "crisps": 1.60, "soda": 1.50,
    "popcorn": 1.90, "chocolate bar": 1.20, "peanuts": 2.10, "diapers": 11.90,
    "baby wipes": 3.20, "baby food": 1.40, "dish soap": 1.80, "sponges": 1.50,
    "paper towels": 3.50, "trash bags": 2.90, "bananas": 1.30, "apples": 2.50, "rice": 2.30,
    "chicken breast": 6.20, "yogurt": 0.90,
}  # fmt: skip
_THEMES = (
    {"bread": 0.9, "butter": 0.75, "jam": 0.5, "eggs": 0.4, "milk": 0.5, "coffee": 0.3},
    {"milk": 0.7, "cereal": 0.85, "bananas": 0.5, "orange juice": 0.4, "yogurt": 0.3},
    {"spaghetti": 0.9, "tomato sauce": 0.8, "parmesan": 0.55, "basil": 0.35, "garlic": 0.4,
     "olive oil": 0.2, "red wine": 0.3},
    {"sausages": 0.85, "burger buns": 0.7, "ketchup": 0.55, "mustard": 0.4, "charcoal": 0.35,
     "beer": 0.6, "corn on the cob": 0.3},
    {"flour": 0.85, "sugar": 0.75, "eggs": 0.6, "butter": 0.5, "baking powder": 0.45,
     "vanilla extract": 0.3, "chocolate chips": 0.35},
    {"tea": 0.85, "biscuits": 0.65, "honey": 0.35, "lemons": 0.4, "scones": 0.3, "milk": 0.3},
    {"lettuce": 0.8, "tomatoes": 0.75, "cucumber": 0.6, "feta cheese": 0.4, "olives": 0.35,
     "salad dressing": 0.45},
    {"tortillas": 0.9, "salsa": 0.7, "avocados": 0.6, "sour cream": 0.45,
     "cheddar cheese": 0.5, "black beans": 0.4, "limes": 0.35},
    {"crisps": 0.75, "soda": 0.7, "popcorn": 0.4, "chocolate bar": 0.5, "peanuts": 0.35},
    {"diapers": 0.9, "baby wipes": 0.7, "baby food": 0.55, "beer": 0.25},
    {"dish soap": 0.6, "sponges": 0.5, "paper towels": 0.6, "trash bags": 0.5},
    {"chicken breast": 0.8, "rice": 0.7, "garlic": 0.3, "lemons": 0.3},
)  # fmt: skip
_STAPLES = ("bananas", "apples", "milk", "bread", "eggs", "yogurt", "tomatoes", "soda")


def retail_transactions(seed: int = 0) -> pd.DataFrame:
    """Generate grocery invoice lines for 2024 (about 20,000 rows), the same for a seed.

    Customers differ in how often they shop and when they stop; each basket follows one or
    two themes (so association rules exist) plus a few staples. About 1.5 % of lines are
    returned later on a ``C``-prefixed invoice with a negative quantity and amount.

    Returns:
        Columns ``invoice`` (text), ``customer_id`` (int), ``invoice_date`` (ISO text),
        ``product``, ``quantity`` (int), ``unit_price`` and ``amount`` (2 decimals).
    """
    rng = np.random.default_rng(seed)
    n_customers, n_invoices, days = 1_200, 4_600, 366
    loyalty = rng.lognormal(0.0, 0.8, n_customers)
    first_day = rng.integers(0, 240, n_customers)
    last_day = np.minimum(days - 1, first_day + rng.exponential(200, n_customers).astype(int))
    customer = rng.choice(n_customers, n_invoices, p=loyalty / loyalty.sum())
    day = first_day[customer] + (rng.random(n_invoices) * (last_day - first_day + 1)[customer])
    order = np.argsort(day.astype(int) * n_invoices + np.arange(n_invoices), kind="stable")
    customer, day = customer[order], day[order].astype(int)
    theme_items = [(list(t), np.array(list(t.values()))) for t in _THEMES]
    rows: list[tuple[str, int, int, str]] = []
    for i in range(n_invoices):
        themes = rng.choice(len(_THEMES), 1 + (rng.random() < 0.3), replace=False)
        basket: dict[str, None] = {}
        for theme in themes:
            names, chance = theme_items[theme]
            kept = rng.random(chance.size) < chance
            basket.update(dict.fromkeys(n for n, keep in zip(names, kept, strict=True) if keep))
        basket.update(dict.fromkeys(rng.choice(_STAPLES, rng.poisson(0.6)).tolist()))
        if not basket:
            basket[theme_items[themes[0]][0][0]] = None
        rows.extend((str(100_001 + i), int(customer[i]), int(day[i]), p) for p in basket)
    frame = pd.DataFrame(rows, columns=["invoice", "customer", "day", "product"])
    frame["quantity"] = rng.geometric(0.55, len(frame))
    returned = frame[rng.random(len(frame)) < 0.015].copy()
    returned["invoice"] = "C" + returned["invoice"]
    returned["day"] = np.minimum(days - 1, returned["day"] + rng.integers(1, 15, len(returned)))
    returned["quantity"] = -rng.integers(1, returned["quantity"] + 1)
    frame = pd.concat([frame, returned], ignore_index=True).sort_values(
        ["day", "invoice"], kind="stable", ignore_index=True
    )
    start = date(2024, 1, 1)
    dates = {d: (start + timedelta(days=int(d))).isoformat() for d in range(days)}
    unit_price = frame["product"].map(_PRICES)
    return pd.DataFrame(
        {
            "invoice": frame["invoice"],
            "customer_id": 10_001 + frame["customer"],
            "invoice_date": frame["day"].map(dates),
            "product": frame["product"],
            "quantity": frame["quantity"],
            "unit_price": unit_price,
            "amount": (frame["quantity"] * unit_price).round(2),
        }
    )


def write_sample(name: str, dest_dir: Path) -> Path:
    """Write one sample as a CSV file (``.csv`` or ``.csv.gz``) into ``dest_dir``.

    Args:
        name: One of the ``name`` values in `SAMPLES`.
        dest_dir: Folder to write into (created if missing). The file is named after the
            sample and replaced atomically if it exists.

    Returns:
        Path of the written file; ``pd.read_csv`` reads it with the sample's ``columns``.

    Raises:
        InvalidParameter: ``name`` is not a sample.
        DataLoadError: The package holding the sample's file is not installed.
    """
    if name not in _BY_NAME:
        known = ", ".join(_BY_NAME)
        raise InvalidParameter(f"There is no sample called '{name}'. Samples: {known}.")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    plotly_names = ("tips", "iris", "gapminder")
    dest = dest_dir / (f"{name}.csv.gz" if name in plotly_names else f"{name}.csv")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        if name in plotly_names:
            shutil.copyfile(_plotly_file(name), tmp)
        else:
            if name == "wine":
                frame = _sklearn_frame("wine_data.csv", _WINE_FEATURES, "cultivar")
            elif name == "breast_cancer":
                frame = _sklearn_frame("breast_cancer.csv", _CANCER_FEATURES, "diagnosis")
            else:
                frame = retail_transactions()
            frame.to_csv(tmp, index=False)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("Wrote sample %s to %s", name, dest)
    return dest
