import pytest

from dashboard.errors import JobRejected
from dashboard.jobs import SELFTEST  # noqa: E402
from dashboard.jobs._admission import (
    BASKET_MATRIX_BYTES_PER_CELL,
    JOB_PROCESS_MB,
    MB,
    admit,
    check_admission,
    data_size_mb,
    dtype_bytes,
    estimate_job,
)
from dashboard.kinds import JOB_KINDS  # noqa: E402

K = {kind.name: kind for kind in (*JOB_KINDS, SELFTEST)}
FLOATS_100 = {f"c{i}": "float64" for i in range(100)}


def test_adm001_small_job_fits():
    estimate = check_admission(
        K["ml"],
        rows=1_000,
        dtypes={"a": "float64", "b": "int8", "c": "str"},
        models=3,
        budget_mb=1024,
        used_mb=200,
    )
    assert estimate.fits and estimate.needed_mb < JOB_PROCESS_MB + K["ml"].overhead_mb + 1
    assert estimate.available_mb == pytest.approx(1024 * 0.9 - 200)
    assert estimate.data_mb == pytest.approx(1_000 * (8 + 1 + 32) / MB)
    assert "needs about" in estimate.advice


def test_adm002_oversized_job_is_refused_with_advice():
    with pytest.raises(JobRejected) as info:
        check_admission(K["ml"], rows=10_000_000, dtypes=FLOATS_100, budget_mb=1024, used_mb=300)
    message = str(info.value)
    assert message.startswith("This analysis needs about ")
    assert "MB but only 620 MB are free." in message
    assert message.endswith("Try a smaller sample, fewer models or fewer columns.")


def test_adm003_admit_boundary_and_negative_headroom():
    assert admit(K["ml"], 100, budget_mb=1000, used_mb=800).fits  # exactly 100 free
    refused = admit(K["ml"], 100.5, budget_mb=1000, used_mb=800)
    assert not refused.fits and refused.available_mb == pytest.approx(100)
    full = admit(K["rfm"], 1234, budget_mb=1000, used_mb=950)
    assert "about 1,230 MB but only 0 MB are free" in full.advice


def test_adm004_estimate_grows_with_models_and_uses_measured_size():
    one = estimate_job(K["ml"], rows=50_000, bytes_memory=20 * MB)
    five = estimate_job(K["ml"], rows=50_000, bytes_memory=20 * MB, models=5)
    assert one == pytest.approx(JOB_PROCESS_MB + K["ml"].overhead_mb + 20 * K["ml"].factor)
    assert five > one
    # A measured size wins over the dtype estimate.
    assert estimate_job(K["ml"], rows=50_000, dtypes=FLOATS_100, bytes_memory=20 * MB) == one


def test_adm005_basket_matrix_and_extra():
    base = estimate_job(K["basket"], rows=100_000, dtypes={"order": "int64", "item": "str"})
    big = estimate_job(
        K["basket"],
        rows=100_000,
        dtypes={"order": "int64", "item": "str"},
        extra={"transactions": 20_000, "items": 5_000},
    )
    # the mined matrix: transactions × items cells at the calibrated bytes per cell
    assert big == pytest.approx(base + 20_000 * 5_000 * BASKET_MATRIX_BYTES_PER_CELL / MB)
    assert big > base + 200
    assert (
        estimate_job(K["selftest"], rows=0, extra={"columns": 1, "extra_mb": 50})
        == JOB_PROCESS_MB + 50
    )


def test_adm006_every_kind_declares_its_admission():
    assert set(K) == {
        "ingest",
        "profile",
        "ml",
        "rfm",
        "basket",
        "selftest",
        "clean-preview",
        "clean",
        "undo",
    }
    for kind in K.values():
        assert kind.factor > 0 and kind.overhead_mb >= 0
        assert kind.advice.startswith("Try ") and kind.advice.endswith(".")
    with pytest.raises(ValueError):
        data_size_mb(rows=10)


@pytest.mark.parametrize(
    ("dtype", "size"),
    [
        ("float64", 8),
        ("float32", 4),
        ("int8", 1),
        ("uint16", 2),
        ("Int64", 9),
        ("bool", 1),
        ("boolean", 2),
        ("category", 4),
        ("str", 32),
        ("string[pyarrow]", 32),
        ("object", 64),
        ("datetime64[ns]", 8),
        ("datetime64[us, UTC]", 8),
    ],
)
def test_adm007_dtype_sizes(dtype, size):
    assert dtype_bytes(dtype) == size
