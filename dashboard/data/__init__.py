"""From a file to the active dataset: ingest, optimize, sample, uploads, samples, exports."""

from __future__ import annotations

from dashboard.data._datasets import (
    NO_DATA,
    ActiveDataset,
    active_data,
    column_table,
    load_file,
    resample,
)
from dashboard.data._exports import (
    EXCEL_MAX_ROWS,
    EXCEL_TOO_LARGE,
    iter_csv,
    parquet_file,
    write_excel,
)
from dashboard.data._ingest import (
    ingest_to_arrow,
    load_table,
)
from dashboard.data._optimize import (
    optimize_frame,
    optimize_parquet,
)
from dashboard.data._samples import (
    SAMPLES,
    write_sample,
)
from dashboard.data._uploads import (
    UploadArea,
    UploadTooLarge,
)

__all__ = [
    "NO_DATA",
    "active_data",
    "iter_csv",
    "parquet_file",
    "resample",
    "write_excel",
    "ActiveDataset",
    "EXCEL_MAX_ROWS",
    "EXCEL_TOO_LARGE",
    "SAMPLES",
    "UploadArea",
    "UploadTooLarge",
    "column_table",
    "ingest_to_arrow",
    "load_file",
    "load_table",
    "optimize_frame",
    "optimize_parquet",
    "write_sample",
]
