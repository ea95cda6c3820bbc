"""Preparing a frame for model comparison: task, target checks, feature roles, preprocessing.

Everything here but :func:`build_preprocessor` is plain pandas, so the web process uses the
same rules on a dataset's column table (no rows) to fill the page's pickers as the job uses
on the frame itself.

Rules (documented in the README):

* **Task**: a numeric (not boolean) target with more than ``REGRESSION_MIN_UNIQUE``
  distinct values is regression; anything else is classification.
* **Excluded features**, each with its reason: columns without values, constant columns,
  identifier-like columns (text or category with at least 95 % distinct values over 20 or
  more values; whole numbers at least 95 % distinct that are named like an id —
  ``order_id``, ``InvoiceNo``, ``CustomerID``, ``order_number`` — or strictly rise or fall
  down the rows, like a row number; never decimals, however distinct), and
  types a model cannot read (durations, periods, intervals, complex numbers).
* **Roles**: numbers and booleans are *numeric*; text and categories with at most
  ``ONE_HOT_MAX_LEVELS`` distinct values are one-hot encoded (*categorical*), more become
  *high-cardinality* (target encoded, cross-fitted); datetimes become year / month / day /
  weekday.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.errors import InvalidParameter
from dashboard.ml._catalogue import CLASSIFICATION, REGRESSION, TASKS

log = logging.getLogger(__name__)

REGRESSION_MIN_UNIQUE = 20
"""A numeric target with more distinct values than this is inferred as regression."""
MAX_CLASSES = 50
MIN_ROWS = 20
"""Rows with a target value needed to train and test anything."""
IDENTIFIER_SHARE = 0.95
IDENTIFIER_MIN_VALUES = 20
ONE_HOT_MAX_LEVELS = 30
"""Text / category columns with more distinct values are target encoded instead."""
ONE_HOT_MAX_CATEGORIES = 16
"""One-hot columns per feature; rarer values share one "infrequent" column."""
ONE_HOT_MIN_FREQUENCY = 5
"""Values seen fewer times in the training rows go to the "infrequent" column."""
MISSING_LABEL = "(missing)"
DATE_PARTS = ("year", "month", "day", "weekday")

_ID_WORDS = frozenset(
    ("id", "ids", "no", "nr", "num", "number", "code", "key", "invoice", "order", "sku")
    + ("uuid", "guid", "ref", "serial", "index", "idx", "row")
)
"""Words of a column name that mark an identifier (``InvoiceNo``, ``order_number``)."""
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

NUMERIC, BOOLEAN, TEXT, DATETIME, OTHER = "numeric", "boolean", "text", "datetime", "other"


@dataclass(frozen=True)
class ColumnFacts:
    """What the rules need to know about one column (from the frame or its column table).

    Attributes:
        name: Column name.
        kind: ``numeric``, ``boolean``, ``text`` (text and categories), ``datetime`` or
            ``other``.
        integer: Whole-number dtype.
        unique: Distinct non-missing values.
        non_null: Non-missing values.
        monotonic: Whole numbers only: ``increasing`` or ``decreasing`` when the values
            strictly rise or fall down the rows (a row number), else ``""``.
    """

    name: str
    kind: str
    integer: bool
    unique: int
    non_null: int
    monotonic: str = ""


def id_like_name(name: str) -> bool:
    """Whether a column name reads like an identifier.

    True when a word of it is ``id``, ``no``, ``number``, ``code``, ``key``, ``invoice``,
    ``order``, ``sku``… (``CustomerID``, ``InvoiceNo``, ``order_number``; see
    ``_ID_WORDS``), or it is a saved index (``Unnamed: 0``).
    """
    if name.lower().startswith("unnamed"):
        return True
    return any(word.lower() in _ID_WORDS for word in _WORD.findall(name))


def strict_direction(values: pd.Series) -> str:
    """Return ``increasing`` / ``decreasing`` for strictly rising / falling whole numbers.

    Missing values are ignored; any other column, or one with repeats, gives ``""``.
    """
    kind, integer = kind_of_dtype(str(values.dtype))
    if kind != NUMERIC or not integer:
        return ""
    v = values.dropna()
    if len(v) < 2 or not v.is_unique:
        return ""
    if v.is_monotonic_increasing:
        return "increasing"
    return "decreasing" if v.is_monotonic_decreasing else ""


def kind_of_dtype(dtype: str) -> tuple[str, bool]:
    """Return ``(kind, integer)`` of a pandas dtype name (``"Int16"`` → numeric, integer)."""
    name = str(dtype).lower()
    if name.startswith("datetime64"):
        return DATETIME, False
    if name in ("bool", "boolean"):
        return BOOLEAN, False
    if re.match(r"^u?int\d*$", name):
        return NUMERIC, True
    if re.match(r"^float\d*$", name):
        return NUMERIC, False
    if name in ("category", "str", "object") or name.startswith("string"):
        return TEXT, False
    return OTHER, False


def facts_from_frame(df: pd.DataFrame) -> list[ColumnFacts]:
    """Return the facts of every column of ``df``."""
    facts = []
    for name in df.columns:
        s = df[name]
        kind, integer = kind_of_dtype(str(s.dtype))
        if kind == TEXT and isinstance(s.dtype, pd.CategoricalDtype):
            categories = s.cat.categories
            if pd.api.types.is_numeric_dtype(categories.dtype):
                kind, integer = NUMERIC, pd.api.types.is_integer_dtype(categories.dtype)
        unique, non_null = int(s.nunique(dropna=True)), int(s.notna().sum())
        facts.append(ColumnFacts(str(name), kind, integer, unique, non_null, strict_direction(s)))
    return facts


def facts_from_column_table(table: Iterable[dict]) -> list[ColumnFacts]:
    """Return the facts from a dataset's ``meta["column_table"]`` (no rows read)."""
    facts = []
    for row in table:
        kind, integer = kind_of_dtype(row.get("dtype", ""))
        facts.append(
            ColumnFacts(
                str(row["column"]),
                kind,
                integer,
                int(row.get("unique", 0)),
                int(row["non_null"]),
                str(row.get("monotonic") or ""),
            )
        )
    return facts


def infer_task(target: ColumnFacts) -> tuple[str, str]:
    """Return ``(task, why)`` for a target, e.g. ``("regression", "is numeric with …")``."""
    if target.kind == NUMERIC and target.unique > REGRESSION_MIN_UNIQUE:
        return REGRESSION, f"is numeric with {target.unique:,} distinct values"
    if target.kind == NUMERIC:
        return CLASSIFICATION, f"is numeric with only {target.unique:,} distinct values"
    if target.kind == BOOLEAN:
        return CLASSIFICATION, "holds true / false values"
    return CLASSIFICATION, f"holds {target.unique:,} distinct values"


def exclusion_reason(facts: ColumnFacts) -> str | None:
    """Return why a column cannot be a feature, or None when it can."""
    if facts.non_null == 0:
        return "no values"
    if facts.unique <= 1:
        return "constant (a single value)"
    if facts.kind == OTHER:
        return "a type models cannot read"
    enough = facts.non_null >= IDENTIFIER_MIN_VALUES
    share = facts.unique / facts.non_null
    if facts.kind == TEXT and enough and share >= IDENTIFIER_SHARE:
        return f"identifier-like ({share:.0%} of its values are distinct)"
    if facts.kind == NUMERIC and facts.integer and enough and share >= IDENTIFIER_SHARE:
        # decimals are never dropped for being distinct: a measurement usually is
        if id_like_name(facts.name):
            if facts.unique == facts.non_null:
                return "identifier-like (a distinct whole number per row, named like an id)"
            return f"identifier-like ({share:.1%} distinct whole numbers, named like an id)"
        if facts.monotonic:
            return f"identifier-like (whole numbers strictly {facts.monotonic} down the rows)"
    return None


@dataclass(frozen=True)
class FeaturePlan:
    """Which columns feed the models, in which role, and which are left out.

    Attributes:
        numeric: Numbers and booleans (median imputation, scaled for the models needing it).
        categorical: Text / categories one-hot encoded.
        high_cardinality: Text / categories target encoded.
        datetime: Dates expanded to year, month, day and weekday.
        excluded: ``{"column", "reason"}`` of every column left out.
    """

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    high_cardinality: tuple[str, ...] = ()
    datetime: tuple[str, ...] = ()
    excluded: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def features(self) -> tuple[str, ...]:
        """Every feature column, in role order."""
        return self.numeric + self.categorical + self.high_cardinality + self.datetime

    def to_dict(self) -> dict:
        """Return JSON-able values."""
        return {
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "high_cardinality": list(self.high_cardinality),
            "datetime": list(self.datetime),
            "excluded": [dict(e) for e in self.excluded],
        }


def plan_features(
    facts: Sequence[ColumnFacts], target: str, features: Sequence[str] | None = None
) -> FeaturePlan:
    """Assign each candidate feature its role, or exclude it with a reason.

    Args:
        facts: Facts of every column of the dataset.
        target: The target column (never a feature).
        features: Columns to consider; None for every column but the target.

    Raises:
        InvalidParameter: A requested feature does not exist.
    """
    by_name = {f.name: f for f in facts}
    if features is None:
        candidates = [f.name for f in facts if f.name != target]
    else:
        unknown = [c for c in features if c not in by_name]
        if unknown:
            raise InvalidParameter(
                f"Column(s) {', '.join(map(repr, unknown))} are not in the dataset any more."
            )
        candidates = [c for c in dict.fromkeys(features) if c != target]
    roles: dict[str, list[str]] = {"numeric": [], "categorical": [], "high": [], "datetime": []}
    excluded = []
    for name in candidates:
        col = by_name[name]
        reason = exclusion_reason(col)
        if reason is not None:
            excluded.append({"column": name, "reason": reason})
        elif col.kind in (NUMERIC, BOOLEAN):
            roles["numeric"].append(name)
        elif col.kind == DATETIME:
            roles["datetime"].append(name)
        elif col.unique <= ONE_HOT_MAX_LEVELS:
            roles["categorical"].append(name)
        else:
            roles["high"].append(name)
    return FeaturePlan(
        tuple(roles["numeric"]),
        tuple(roles["categorical"]),
        tuple(roles["high"]),
        tuple(roles["datetime"]),
        tuple(excluded),
    )


def default_cv_folds(rows: int) -> int:
    """Return the default number of folds: 5 below 5,000 rows, else 3."""
    return 5 if rows < 5_000 else 3


def check_parameters(test_size: float, cv_folds: int, time_budget_s: float) -> None:
    """Raise ``InvalidParameter`` for a test share, fold count or time budget out of range."""
    if not isinstance(test_size, int | float) or not 0.1 <= float(test_size) <= 0.4:
        raise InvalidParameter("The test share must be between 10 % and 40 %.")
    if not isinstance(cv_folds, int) or isinstance(cv_folds, bool) or not 3 <= cv_folds <= 10:
        raise InvalidParameter("Cross-validation needs between 3 and 10 folds.")
    if not isinstance(time_budget_s, int | float) or not 1 <= float(time_budget_s) <= 3600:
        raise InvalidParameter("The time budget per model must be between 1 and 3,600 seconds.")


def check_target(
    y: pd.Series, task: str, *, test_size: float, cv_folds: int
) -> tuple[list, str | None]:
    """Check that ``y`` (missing values already dropped) can be learned for ``task``.

    Returns:
        ``(classes, positive)``: the sorted class labels and, for two classes, the positive
        one (the less frequent; the last in order on a tie); ``([], None)`` for regression.

    Raises:
        InvalidParameter: With one sentence naming the problem (see ``prepare``).
    """
    name = y.name
    rows = len(y)
    if rows < MIN_ROWS:
        raise InvalidParameter(
            f"Only {rows:,} rows have a value in '{name}'; at least {MIN_ROWS} are needed."
        )
    if task == REGRESSION:
        if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
            raise InvalidParameter(
                f"'{name}' is not numeric, so it cannot be predicted by regression. "
                "Choose classification, or a numeric target."
            )
        if y.nunique() <= 1:
            raise InvalidParameter(f"'{name}' has a single value, so there is nothing to predict.")
        return [], None
    counts = y.value_counts(sort=False)
    if len(counts) <= 1:
        raise InvalidParameter(
            f"'{name}' has a single class ({_label(counts.index[0])}), so there is nothing "
            "to predict."
        )
    if len(counts) > MAX_CLASSES:
        raise InvalidParameter(
            f"'{name}' has {len(counts):,} classes; classification supports at most "
            f"{MAX_CLASSES}. Choose regression for a numeric target, or group the values."
        )
    single = [c for c, n in counts.items() if n < 2]
    if single:
        raise InvalidParameter(
            f"Class {_label(single[0])} of '{name}' has only one row, so the rows cannot be "
            "split keeping every class in both parts. Remove that row or merge it into "
            "another class."
        )
    needed = math.ceil(cv_folds / (1 - test_size))
    rare = [(c, n) for c, n in counts.items() if n < needed]
    if rare:
        c, n = min(rare, key=lambda cn: cn[1])
        raise InvalidParameter(
            f"Class {_label(c)} of '{name}' has only {n} rows; with {cv_folds}-fold "
            f"cross-validation every class needs at least {needed}. Choose fewer folds, or "
            "merge or remove the rare classes."
        )
    if math.ceil(rows * test_size) < len(counts):
        raise InvalidParameter(
            f"A {test_size:.0%} test share of {rows:,} rows cannot hold one row of each of "
            f"the {len(counts)} classes. Choose a larger test share."
        )
    classes = sorted(counts.index, key=_sort_key)
    positive = None
    if len(classes) == 2:
        low, high = counts[classes[0]], counts[classes[1]]
        positive = classes[0] if low < high else classes[1]
    return classes, positive


def _sort_key(value):
    return (str(type(value)), value)


def _label(value) -> str:
    return f"'{value}'"


@dataclass(frozen=True)
class PreparedData:
    """The frame the models see, and what was decided about it.

    Attributes:
        X: The feature columns (original names and dtypes), rows with a target value.
        y: The target, same rows.
        task: ``classification`` or ``regression``.
        task_reason: Why this task (inferred, or "chosen").
        plan: Feature roles and exclusions.
        classes: Sorted class labels (classification), else empty.
        positive: The positive class of a binary target (the less frequent one), else None.
        dropped_rows: Rows left out because the target was missing.
    """

    X: pd.DataFrame
    y: pd.Series
    task: str
    task_reason: str
    plan: FeaturePlan
    classes: tuple = ()
    positive: object = None
    dropped_rows: int = 0


def prepare(
    df: pd.DataFrame,
    *,
    target: str,
    task: str | None = None,
    features: Sequence[str] | None = None,
    test_size: float = 0.2,
    cv_folds: int = 5,
) -> PreparedData:
    """Validate the target and features and return the data the models see.

    Nothing heavy runs here: every check that can refuse the input happens before training.

    Raises:
        InvalidParameter: Unknown target, a target without values, a single class, a class
            with one row (no stratified split), too few rows of a class for the folds, more
            than ``MAX_CLASSES`` classes, a non-numeric target for regression, a date
            target, an unknown task, or no usable feature.
    """
    if target not in df.columns:
        raise InvalidParameter(f"The target column '{target}' is not in the dataset.")
    if task is not None and task not in TASKS:
        raise InvalidParameter("The task must be classification or regression.")
    facts = facts_from_frame(df)
    target_facts = next(f for f in facts if f.name == target)
    if target_facts.non_null == 0:
        raise InvalidParameter(f"The target '{target}' has no values (every row is missing).")
    if target_facts.kind in (DATETIME, OTHER):
        raise InvalidParameter(f"'{target}' holds dates or durations; choose another target.")
    inferred, why = infer_task(target_facts)
    chosen = task or inferred
    plan = plan_features(facts, target, features)
    if not plan.features:
        reasons = "; ".join(f"{e['column']}: {e['reason']}" for e in plan.excluded[:5])
        raise InvalidParameter(
            "There is no usable feature column"
            + (f" ({reasons})." if reasons else ".")
            + " Choose other features or load data with more columns."
        )
    has_target = df[target].notna()
    y = df.loc[has_target, target]
    if isinstance(y.dtype, pd.CategoricalDtype):
        y = y.astype(y.cat.categories.dtype)
    classes, positive = check_target(y, chosen, test_size=test_size, cv_folds=cv_folds)
    if chosen == REGRESSION:
        # downcast or nullable targets (int16, Float32…) as plain floats: some encoders'
        # compiled code takes float64 only
        y = y.astype("float64")
    X = df.loc[has_target, list(plan.features)]
    return PreparedData(
        X=X,
        y=y,
        task=chosen,
        task_reason=why if task is None or task == inferred else "chosen",
        plan=plan,
        classes=tuple(classes),
        positive=positive,
        dropped_rows=int((~has_target).sum()),
    )


# --- the preprocessing step of every pipeline (scikit-learn, job process only) ------------


def date_parts(X) -> pd.DataFrame:
    """Expand each date column into year, month, day and weekday (floats, NaN when missing).

    Module-level so that a saved pipeline can be loaded again (``FunctionTransformer``
    pickles it by reference: ``dashboard.ml._prep.date_parts``).
    """
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    out = {}
    for name in frame.columns:
        s = pd.to_datetime(frame[name], errors="coerce")
        parts = (s.dt.year, s.dt.month, s.dt.day, s.dt.day_of_week)
        for part, values in zip(DATE_PARTS, parts, strict=True):
            out[f"{name}_{part}"] = values.astype("float64")
    return pd.DataFrame(out, index=frame.index)


def date_part_names(transformer, input_features) -> np.ndarray:
    """Output names of :func:`date_parts` (``feature_names_out`` of its transformer)."""
    return np.asarray([f"{c}_{p}" for c in input_features for p in DATE_PARTS], dtype=object)


def build_preprocessor(
    plan: FeaturePlan, *, scale: bool, task: str, n_classes: int, random_state: int
):
    """Return the ``ColumnTransformer`` of a pipeline (unfitted; imports scikit-learn).

    Imputation, one-hot encoding with an infrequent-category cap, cross-fitted target
    encoding for high cardinality, date parts, and standardization when ``scale``. Placed
    inside the model's ``Pipeline``, it is fitted within each cross-validation fold and on
    the training split only, so test rows never inform it. Columns outside the plan are
    dropped, so the fitted pipeline accepts the original table.
    """
    from sklearn.compose import ColumnTransformer  # job process only
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        StandardScaler,
        TargetEncoder,
    )

    def scaled(*steps):
        return make_pipeline(*steps, *([StandardScaler()] if scale else []))

    def filled():
        return SimpleImputer(strategy="constant", fill_value=MISSING_LABEL)

    parts = []
    if plan.numeric:
        parts.append(("numeric", scaled(SimpleImputer(strategy="median")), list(plan.numeric)))
    if plan.categorical:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=ONE_HOT_MIN_FREQUENCY,
            max_categories=ONE_HOT_MAX_CATEGORIES,
            sparse_output=False,
        )
        parts.append(("categorical", make_pipeline(filled(), encoder), list(plan.categorical)))
    if plan.high_cardinality:
        if task == REGRESSION:
            target_type, folds = "continuous", KFold(5, shuffle=True, random_state=random_state)
        else:
            target_type = "binary" if n_classes == 2 else "multiclass"
            folds = StratifiedKFold(5, shuffle=True, random_state=random_state)
        encoder = TargetEncoder(target_type=target_type, cv=folds)
        parts.append(("high_cardinality", scaled(filled(), encoder), list(plan.high_cardinality)))
    if plan.datetime:
        expand = FunctionTransformer(date_parts, feature_names_out=date_part_names)
        parts.append(
            ("dates", scaled(expand, SimpleImputer(strategy="median")), list(plan.datetime))
        )
    return ColumnTransformer(parts, remainder="drop")
