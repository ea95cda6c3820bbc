"""Generate the benchmark input: a deterministic mixed CSV (20 columns), cached in bench/out.

Usage: ``.venv/bin/python bench/make_data.py [--rows N] [--force]``; prints the path.

Columns: 4 integers (one with gaps), 5 floats with decimals (one with gaps), 4
low-cardinality texts (one with gaps), 2 high-cardinality text ids, 2 dates (one with gaps),
2 booleans (one with gaps) and a sparse free-text note. The module imports only the
standard library at the top, so ``csv_path`` is cheap to use from a small parent process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import DEFAULT_ROWS, OUT, PYTHON, REPO

SEED = 20240601
VERSION = 1  # bump when the generator changes, so stale cached files are not reused
CHUNK_ROWS = 100_000

COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "BE", "PL", "SE", "CH", "AT"]
CATEGORIES = ["Books", "Music", "Video", "Garden", "Toys", "Sports", "Food", "Health"]
STATUSES = ["new", "paid", "shipped", "cancelled"]
CHANNELS = ["web", "app", "store", "phone", "partner"]
WORDS = ["late", "gift", "fragile", "repeat", "urgent", "discount", "bulk", "return"]


def csv_path(rows: int) -> Path:
    """Where the CSV with ``rows`` rows is cached."""
    return OUT / f"mixed_v{VERSION}_{rows}.csv"


def _chunk(start: int, n: int):
    """Return a pyarrow Table with rows ``start .. start+n-1`` (deterministic per chunk)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng([SEED, start])

    def gaps(share: float) -> np.ndarray:
        return rng.random(n) < share

    def pick(values: list[str], mask: np.ndarray | None = None) -> pa.Array:
        codes = rng.integers(0, len(values), n)
        return pa.DictionaryArray.from_arrays(
            pa.array(codes.astype(np.int32), mask=mask), pa.array(values)
        ).cast(pa.string())

    def ids(prefix: str, numbers: np.ndarray) -> pa.Array:
        return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")

    base_day = np.datetime64("2019-01-01")
    order_days = rng.integers(0, 5 * 365, n)
    order_date = base_day + order_days.astype("timedelta64[D]")
    ship_date = order_date + rng.integers(0, 15, n).astype("timedelta64[D]")
    row_id = np.arange(start, start + n, dtype=np.int64)
    # Hex order references: unique per row, shuffled so they do not sort with the id.
    order_ref = (row_id * 2654435761) % (1 << 40)
    columns = {
        "row_id": pa.array(row_id),
        "customer_id": pa.array(rng.integers(1, 250_000, n)),
        "quantity": pa.array(rng.integers(1, 21, n), mask=gaps(0.02)),
        "year_joined": pa.array(rng.integers(1995, 2025, n)),
        "amount": pa.array(np.round(rng.gamma(2.0, 40.0, n), 2)),
        "unit_price": pa.array(np.round(rng.uniform(0.5, 500.0, n), 2), mask=gaps(0.05)),
        "discount": pa.array(np.round(rng.uniform(0.0, 0.5, n), 3)),
        "score": pa.array(np.round(rng.normal(0.0, 1.0, n), 4)),
        "latitude": pa.array(np.round(rng.uniform(35.0, 70.0, n), 6)),
        "country": pick(COUNTRIES),
        "category": pick(CATEGORIES, gaps(0.03)),
        "status": pick(STATUSES),
        "channel": pick(CHANNELS),
        "order_ref": ids("ORD-", order_ref),
        "customer_email": pc.binary_join_element_wise(
            "user", pa.array(rng.integers(0, 600_000, n)).cast(pa.string()), "@example.com", ""
        ),
        "order_date": pa.array(order_date.astype("datetime64[D]")).cast(pa.date32()),
        "ship_date": pa.array(ship_date.astype("datetime64[D]"), mask=gaps(0.10)).cast(pa.date32()),
        "is_member": pa.array(rng.random(n) < 0.35),
        "returned": pa.array(rng.random(n) < 0.08, mask=gaps(0.04)),
        "note": pa.array(
            [
                f"{WORDS[a]} {WORDS[b]} #{c}"
                for a, b, c in zip(
                    rng.integers(0, len(WORDS), n),
                    rng.integers(0, len(WORDS), n),
                    rng.integers(0, 5000, n),
                    strict=True,
                )
            ],
            mask=gaps(0.6),
        ),
    }
    return pa.table(columns)


def generate(rows: int, path: Path) -> Path:
    """Write the CSV to ``path`` (atomically) and return it."""
    import pyarrow.csv as pacsv

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        first = _chunk(0, min(CHUNK_ROWS, rows))
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        with open(tmp, "wb") as sink:
            sink.write((",".join(first.column_names) + "\n").encode())
            writer = pacsv.CSVWriter(sink, first.schema, write_options=options)
            writer.write_table(first)
            for start in range(len(first), rows, CHUNK_ROWS):
                writer.write_table(_chunk(start, min(CHUNK_ROWS, rows - start)))
            writer.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def mixed_csv(rows: int = DEFAULT_ROWS) -> Path:
    """Return the cached mixed CSV with ``rows`` rows, generating it (in a child) if missing."""
    path = csv_path(rows)
    if not path.exists():
        print(f"generating {path.relative_to(REPO)} ({rows:,} rows), cached for later runs…")
        subprocess.run(
            [PYTHON, str(REPO / "bench" / "make_data.py"), "--rows", str(rows)],
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    path = csv_path(args.rows)
    if args.force or not path.exists():
        generate(args.rows, path)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
