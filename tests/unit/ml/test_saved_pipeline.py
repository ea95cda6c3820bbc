"""A pipeline saved before ``dashboard.ml`` became a package still loads and predicts.

``tests/data/pipeline-before-move.joblib`` was written by the flat layout's
``compare_models(..., model_path=...)`` (Linear Regression on the frame below); its
date-expanding step is pickled by reference as ``dashboard._ml_prep.date_parts``.
"""

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

SAVED = Path(__file__).resolve().parents[2] / "data" / "pipeline-before-move.joblib"


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame(
        {
            "age": rng.integers(20, 70, n),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n),
            "signup": pd.to_datetime("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        }
    )
    df["spend"] = df["age"] * 2.0 + (df["city"] == "Paris") * 10 + rng.normal(0, 1, n)
    return df


def test_mlsave001_pipeline_saved_by_the_flat_layout_loads_and_predicts():
    assert b"dashboard._ml_prep" in SAVED.read_bytes()  # the old module path is in the file
    pipeline = joblib.load(SAVED)
    predicted = pipeline.predict(_frame().head(3))
    # the figures the pipeline gave when it was saved
    assert predicted == pytest.approx([133.92444576, 102.2131658, 99.90751185])
