"""Basket results as stored tables, and queries of the stored rules that never load them.

Rules and itemsets are stored as plain tables that read well in a spreadsheet: each side
of a rule is its item names joined by a separator (``"bread, butter"``). The separator is
", " unless an item name contains a comma; then the first of `SEPARATORS` that no name
contains, recorded in the item's meta, so that a side can be split back exactly.

`query_rules` filters a stored rules file by item a batch of rows at a time with pyarrow,
so the web process holds one batch and the rows it returns, whatever the number of rules.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SEPARATORS = (", ", " | ", " ; ", " ¦ ")
"""Candidate separators between the item names of a rule side, in order of preference."""

MAX_GRID_ROWS = 1_000
"""Rules sent to the browser at most (the strongest by lift among those matching)."""

RULE_TABLE_COLUMNS = (
    "antecedents",
    "consequents",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "count",
    "antecedent_support",
    "consequent_support",
)
SIDES = ("any", "antecedent", "consequent")


def choose_separator(names) -> str:
    """Return the first of `SEPARATORS` that no item name contains."""
    names = list(names)
    for sep in SEPARATORS:
        if not any(sep.strip() in name for name in names):
            return sep
    return SEPARATORS[-1]


def rules_table(rules: pd.DataFrame, sep: str) -> pd.DataFrame:
    """Return the rules with their sides joined by ``sep``, in `RULE_TABLE_COLUMNS` order."""
    table = rules.copy()
    for side in ("antecedents", "consequents"):
        table[side] = pd.array([sep.join(s) for s in rules[side]], dtype="str")
    return table[list(RULE_TABLE_COLUMNS)]


def itemsets_table(itemsets: pd.DataFrame, sep: str) -> pd.DataFrame:
    """Return the itemsets with their items joined by ``sep``."""
    table = itemsets.copy()
    table["itemset"] = pd.array([sep.join(s) for s in itemsets["itemset"]], dtype="str")
    return table


def _has_item(column: pa.Array, item: str, sep: str, exact: bool) -> np.ndarray:
    """Return a mask of the rows whose side (``sep``-joined names) holds ``item``.

    ``exact``: the side must be ``item`` alone.
    """
    if exact:
        return np.asarray(pc.fill_null(pc.equal(column, item), False))
    lists = pc.split_pattern(column, pattern=sep)
    hits = np.asarray(pc.fill_null(pc.equal(pc.list_flatten(lists), item), False))
    parents = np.asarray(pc.list_parent_indices(lists))
    mask = np.zeros(len(column), dtype=bool)
    mask[parents[hits]] = True
    return mask


def _plain(row: dict) -> dict:
    """Make a row JSON-safe: infinite conviction (confidence 1) becomes None."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }


def query_rules(
    path: Path,
    *,
    sep: str,
    item: str | None = None,
    side: str = "any",
    exact: bool = False,
    limit: int = MAX_GRID_ROWS,
    batch_rows: int = 16_384,
) -> tuple[list[dict], int]:
    """Return ``(rows, matching)``: the first ``limit`` stored rules holding ``item``.

    Rules are stored strongest first, so the rows returned are the strongest matches.

    Args:
        path: The stored rules (Parquet, `RULE_TABLE_COLUMNS`).
        sep: The separator the sides were joined with.
        item: Keep rules with this item (None: every rule).
        side: Where the item must be: ``any``, ``antecedent`` or ``consequent``.
        exact: The side must hold ``item`` alone.
        limit: Rows returned at most.
        batch_rows: Rows read at a time.

    Returns:
        Row dicts (infinite conviction as None) and the number of rules that match.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    rows: list[dict] = []
    matching = 0
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=batch_rows, use_threads=False):
        if item is None:
            mask = np.ones(batch.num_rows, dtype=bool)
        else:
            mask = np.zeros(batch.num_rows, dtype=bool)
            if side in ("any", "antecedent"):
                mask |= _has_item(batch.column("antecedents"), item, sep, exact)
            if side in ("any", "consequent"):
                mask |= _has_item(batch.column("consequents"), item, sep, exact)
        hits = int(mask.sum())
        if hits and len(rows) < limit:
            chosen = batch.filter(pa.array(mask)).slice(0, limit - len(rows))
            rows.extend(_plain(r) for r in chosen.to_pylist())
        matching += hits
    # the web process runs this: give Arrow's buffers back at once (as the store does)
    pa.default_memory_pool().release_unused()
    return rows, matching


def pairs_with(path: Path, item: str, *, sep: str, limit: int = 10) -> list[dict]:
    """Return the frequent pairs holding ``item`` from a stored itemsets table.

    Each row: ``item`` (the other item), ``count``, ``support``; most frequent first.
    """
    found: list[dict] = []
    parquet = pq.ParquetFile(path)
    columns = ["itemset", "length", "support", "count"]
    for batch in parquet.iter_batches(batch_size=16_384, columns=columns, use_threads=False):
        pairs = batch.filter(pc.equal(batch.column("length"), 2))
        for row in pairs.to_pylist():  # stored most frequent first
            names = row["itemset"].split(sep)
            if item in names:
                other = names[1] if names[0] == item else names[0]
                found.append({"item": other, "count": row["count"], "support": row["support"]})
                if len(found) >= limit:
                    return found
    return found
