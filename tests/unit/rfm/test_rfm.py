"""RFM domain: segments, scores on ranks, returns, reference date, CLV, clusters, bad input."""

from __future__ import annotations

import json
from itertools import product

import numpy as np
import pandas as pd
import pytest

from dashboard.data._datasets import column_table
from dashboard.data._ingest import load_table
from dashboard.data._optimize import optimize_frame
from dashboard.data._samples import retail_transactions
from dashboard.errors import InvalidParameter
from dashboard.rfm._compute import (
    SCATTER_POINTS,
    SEGMENT_NAMES,
    SEGMENT_RULES,
    RfmSettings,
    add_clusters,
    check_columns,
    compute_rfm,
    detect_columns,
    scatter_sample,
    segment_for,
    settings_from_request,
)
from dashboard.rfm._scores import bin_ranks, ranks


@pytest.fixture(scope="module")
def cdnow(shared_data) -> pd.DataFrame:
    """CDNOW as the app stores it (read and optimized like an upload)."""
    frame, _ = optimize_frame(load_table(shared_data / "cdnow_transactions.csv"))
    return frame


@pytest.fixture(scope="module")
def cdnow_result(cdnow):
    return compute_rfm(cdnow, customer="customer_id", date="order_date", amount="amount")


@pytest.fixture(scope="module")
def retail() -> pd.DataFrame:
    return retail_transactions()


def frame(rows, columns=("customer", "date", "amount")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


# --- the rule table --------------------------------------------------------------------------


def test_rfm001_every_score_combination_has_one_segment_and_every_segment_is_reached():
    reached = {}
    for r, f, m in product(range(1, 6), repeat=3):
        matching = [rule.name for rule in SEGMENT_RULES if rule.matches(r, f, m)]
        assert matching, f"no rule for {(r, f, m)}"
        # first match wins, and the table gives exactly one answer per combination
        assert segment_for(r, f, m) == matching[0]
        reached.setdefault(matching[0], []).append((r, f, m))
    assert sorted(reached) == sorted(SEGMENT_NAMES) and len(SEGMENT_NAMES) == 11
    # the origin's bug: "At Risk" shadowed "Cannot Lose Them"
    assert segment_for(1, 5, 5) == "Cannot Lose Them"
    assert segment_for(1, 5, 1) == "At Risk"
    assert segment_for(5, 5, 5) == "Champions" and segment_for(1, 1, 1) == "Lost"
    assert sum(len(v) for v in reached.values()) == 125


def test_rfm002_segments_are_computed_from_the_same_table_for_every_customer(cdnow_result):
    customers = cdnow_result.customers
    # quintile scores: the segment is the rule table's answer for each customer's scores
    sample = customers.sample(500, random_state=1)
    for row in sample.itertuples():
        assert row.segment == segment_for(row.r_score, row.f_score, row.m_score)


# --- CDNOW: counts, balance, hand-computed customers -----------------------------------------


def test_rfm003_cdnow_counts_every_customer_and_segments_sum_to_the_scored(cdnow_result):
    customers, excluded = cdnow_result.customers, cdnow_result.excluded
    assert len(customers) + len(excluded) == 23_570
    assert customers["customer"].is_unique
    assert int(cdnow_result.segments["customers"].sum()) == len(customers)
    assert len(cdnow_result.segments) == 11
    assert abs(cdnow_result.segments["share_pct"].sum() - 100) < 0.2
    # the 68 customers whose only rows have an amount of 0 are listed, not dropped
    assert len(excluded) == 68 and (excluded["net_total"] <= 0).all()
    assert set(excluded["reason"]) == {"no purchase with a positive amount"}
    assert cdnow_result.as_of == pd.Timestamp("1998-07-01")


def test_rfm004_cdnow_scores_are_balanced_fifths_despite_ties(cdnow_result):
    customers = cdnow_result.customers
    n = len(customers)
    assert (customers["frequency"] == 1).mean() > 0.45  # heavy ties: half bought once
    for column in ("r_score", "f_score", "m_score"):
        counts = customers[column].value_counts().sort_index()
        assert list(counts.index) == [1, 2, 3, 4, 5]
        assert (abs(counts - n / 5) <= 0.01 * n / 5).all(), (column, counts.tolist())
    # higher scores mean more recent / more orders / more money
    by_r = customers.groupby("r_score")["recency"].mean()
    assert by_r.is_monotonic_decreasing
    assert customers.groupby("f_score")["frequency"].mean().is_monotonic_increasing
    assert customers.groupby("m_score")["monetary"].mean().is_monotonic_increasing


def test_rfm005_cdnow_customers_match_hand_computed_values(cdnow_result):
    customers = cdnow_result.customers.set_index("customer")
    # from the file: 00001 bought once on 1997-01-01 for 11.77; 00002 twice on 1997-01-12
    # (12.00 + 77.00); 00003 six times, last on 1998-05-28; 00004 four times, last 1997-12-12
    # the ids are written with leading zeros, so they are kept as text
    expected = {
        "00001": (546, 1, 11.77),
        "00002": (535, 2, 89.00),
        "00003": (34, 6, 20.76 + 20.76 + 19.54 + 57.45 + 20.96 + 16.99),
        "00004": (201, 4, 29.33 + 29.73 + 14.96 + 26.48),
    }
    for customer, (recency, frequency, monetary) in expected.items():
        row = customers.loc[customer]
        assert row["recency"] == recency
        assert row["frequency"] == frequency
        assert row["monetary"] == pytest.approx(monetary)
    three = customers.loc["00003"]
    assert three["first_purchase"] == pd.Timestamp("1997-01-02")
    assert three["last_purchase"] == pd.Timestamp("1998-05-28")
    assert three["lifespan_days"] == 511
    # CLV by the documented formula: AOV × orders per year × 1 / churn
    clv = cdnow_result.clv
    per_year = 6 / (545 / 365.25)
    assert three["avg_order_value"] == pytest.approx(156.46 / 6, abs=0.01)
    assert three["orders_per_year"] == pytest.approx(per_year, abs=0.001)
    assert clv.churn_rate == pytest.approx(1 - clv.repeat_rate)
    assert clv.repeat_rate == pytest.approx((cdnow_result.customers["frequency"] > 1).mean())
    assert three["predicted_clv"] == pytest.approx(156.46 / 6 * per_year / clv.churn_rate, abs=0.01)


def test_rfm006_summary_is_small_json_and_says_what_the_figures_say(cdnow_result):
    summary = cdnow_result.summary()
    text = json.dumps(summary, allow_nan=False)
    assert len(text) < 60_000
    cards = summary["overview"]
    assert cards["customers"] == 23_502 and cards["customers_total"] == 23_570
    assert cards["median_recency"] == float(cdnow_result.customers["recency"].median())
    assert sum(map(sum, summary["grid"]["counts"])) == 23_502
    assert len(summary["top_customers"]) == 20
    best = cdnow_result.customers["predicted_clv"].max()
    assert summary["top_customers"][0]["predicted_clv"] == best
    sentences = " ".join(summary["sentences"])
    assert "23,502 customers spent 2.50 million" in sentences
    assert "1998-07-01" in sentences and "68 customers" in sentences
    # half of CDNOW bought once: the page says what the tie-break by money does to F
    assert cards["one_time_top_f"] == 3
    assert "one-time buyers score F 1–3" in sentences
    assert len(scatter_sample(cdnow_result.customers)) == SCATTER_POINTS


# --- ties, returns, reference date, schemes, invoices -----------------------------------------


def test_rfm007_scores_use_ranks_like_pandas_rank_first_then_quantile_bins():
    rng = np.random.default_rng(3)
    values = rng.permutation(1000).astype(float)  # distinct: no tie-break involved
    expected = pd.qcut(pd.Series(values).rank(method="first"), 5, labels=False) + 1
    assert (bin_ranks(ranks(values), 5) == expected.to_numpy()).all()
    # everyone tied: still five equal scores, in input order
    tied = bin_ranks(ranks(np.ones(10)), 5)
    assert tied.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_rfm008_all_customers_identical_still_scores_and_segments():
    rows = [(f"c{i}", "2024-03-01", 10.0) for i in range(50)]
    result = compute_rfm(frame(rows), customer="customer", date="date", amount="amount")
    for column in ("r_score", "f_score", "m_score"):
        assert result.customers[column].value_counts().tolist() == [10] * 5
    assert result.customers["segment"].notna().all()


def test_rfm009_returns_are_netted_or_left_out_and_non_positive_totals_listed():
    rows = [
        ("a", "2024-01-05", 100.0),
        ("a", "2024-02-01", -30.0),
        ("b", "2024-01-10", 20.0),
        ("b", "2024-01-20", -20.0),
        ("c", "2024-01-15", -5.0),
        ("d", "2024-03-01", 40.0),
        ("e", "2024-02-11", 15.0),
    ]
    net = compute_rfm(frame(rows), customer="customer", date="date", amount="amount")
    scored = net.customers.set_index("customer")
    assert scored.loc["a", "monetary"] == 70.0 and scored.loc["a", "frequency"] == 1
    assert (
        scored.loc["a", "recency"] == (pd.Timestamp("2024-03-02") - pd.Timestamp("2024-01-05")).days
    )
    excluded = net.excluded.set_index("customer")
    assert excluded.loc["b", "reason"] == "returns cancel the purchases"
    assert excluded.loc["b", "net_total"] == 0.0
    assert excluded.loc["c", "reason"] == "only returns"
    assert net.notes["return_rows"] == 3

    left_out = compute_rfm(
        frame(rows), customer="customer", date="date", amount="amount", returns="exclude"
    )
    scored = left_out.customers.set_index("customer")
    assert scored.loc["a", "monetary"] == 100.0 and scored.loc["b", "monetary"] == 20.0
    assert list(left_out.excluded["customer"]) == ["c"]


def test_rfm010_returns_in_the_retail_sample_are_netted_per_customer(retail):
    result = compute_rfm(
        retail, customer="customer_id", date="invoice_date", amount="amount", invoice="invoice"
    )
    purchases = retail[retail["amount"] > 0].groupby("customer_id")
    net = retail.groupby("customer_id")["amount"].sum()
    customers = result.customers.set_index("customer")
    # frequency = distinct purchase invoices (the C-invoices are returns, not orders)
    orders = purchases["invoice"].nunique()
    assert (customers["frequency"] == orders.loc[customers.index]).all()
    assert np.allclose(customers["monetary"], net.loc[customers.index])
    assert result.notes["return_rows"] == int((retail["amount"] < 0).sum()) > 0
    assert len(customers) + len(result.excluded) == retail["customer_id"].nunique()


def test_rfm011_custom_reference_date_leaves_later_transactions_out(retail):
    result = compute_rfm(
        retail,
        customer="customer_id",
        date="invoice_date",
        amount="amount",
        invoice="invoice",
        as_of="2024-06-30",
    )
    dates = pd.to_datetime(retail["invoice_date"])
    assert result.as_of == pd.Timestamp("2024-06-30")
    assert result.notes["after_as_of"] == int((dates > "2024-06-30").sum())
    before = retail[dates <= "2024-06-30"]
    last = pd.to_datetime(before[before["amount"] > 0].groupby("customer_id")["invoice_date"].max())
    customers = result.customers.set_index("customer")
    expected = (pd.Timestamp("2024-06-30") - last.loc[customers.index]).dt.days
    assert (customers["recency"] == expected).all()
    with pytest.raises(InvalidParameter, match="before the first transaction"):
        compute_rfm(
            retail, customer="customer_id", date="invoice_date", amount="amount", as_of="2023-01-01"
        )


def test_rfm012_quartile_scheme_scores_one_to_four_and_keeps_the_segments(retail):
    kwargs = {"customer": "customer_id", "date": "invoice_date", "amount": "amount"}
    quintiles = compute_rfm(retail, **kwargs)
    quartiles = compute_rfm(retail, scheme="quartile", **kwargs)
    n = len(quartiles.customers)
    for column in ("r_score", "f_score", "m_score"):
        counts = quartiles.customers[column].value_counts().sort_index()
        assert list(counts.index) == [1, 2, 3, 4] and (abs(counts - n / 4) <= 1).all()
    assert (quartiles.customers["segment"] == quintiles.customers["segment"]).all()
    assert len(quartiles.summary()["grid"]["counts"]) == 4


def test_rfm013_invoices_count_once_and_rows_without_one_count_alone():
    rows = [
        ("a", "2024-01-01", 5.0, "i1"),
        ("a", "2024-01-01", 7.0, "i1"),
        ("a", "2024-01-09", 3.0, None),
        ("a", "2024-01-10", 3.0, None),
        ("b", "2024-01-02", 9.0, "i2"),
    ]
    df = frame(rows, ("customer", "date", "amount", "invoice"))
    result = compute_rfm(df, customer="customer", date="date", amount="amount", invoice="invoice")
    customers = result.customers.set_index("customer")
    assert customers.loc["a", "frequency"] == 3 and customers.loc["a", "monetary"] == 18.0
    without = compute_rfm(df, customer="customer", date="date", amount="amount")
    assert without.customers.set_index("customer").loc["a", "frequency"] == 4


def test_rfm014_amount_from_quantity_times_unit_price(retail):
    by_product = compute_rfm(
        retail,
        customer="customer_id",
        date="invoice_date",
        amount=None,
        quantity="quantity",
        unit_price="unit_price",
    )
    given = compute_rfm(retail, customer="customer_id", date="invoice_date", amount="amount")
    assert np.allclose(by_product.customers["monetary"], given.customers["monetary"], atol=0.02)


def test_rfm015_ids_dates_and_text_values_of_every_usual_kind():
    df = pd.DataFrame(
        {
            "customer": [12346.0, 12346.0, 12347.0, None],
            "date": pd.to_datetime(
                ["2024-01-01T10:00", "2024-02-01T09:00", "2024-01-15T23:00", "2024-01-20T00:00"]
            ).tz_localize("Europe/Paris"),
            "amount": ["10.5", "4", "7.25", "3"],
        }
    )
    result = compute_rfm(df, customer="customer", date="date", amount="amount")
    assert result.customers["customer"].tolist() == [12346, 12347]  # not 12346.0
    assert result.customers["monetary"].tolist() == [14.5, 7.25]
    assert result.notes["missing_customer"] == 1
    mixed = pd.DataFrame(
        {
            "customer": ["a", "a", "b"],
            "date": pd.Series(["2024-01-05", "5 March 2024", "2024/02/01"], dtype="category"),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    result = compute_rfm(mixed, customer="customer", date="date", amount="amount")
    assert result.customers.set_index("customer").loc["a", "last_purchase"] == pd.Timestamp(
        "2024-03-05"
    )


# --- bad input -------------------------------------------------------------------------------


def test_rfm016_non_numeric_amount_is_refused_with_an_example():
    df = frame([("a", "2024-01-01", "12.0"), ("b", "2024-01-02", "twelve")])
    with pytest.raises(
        InvalidParameter, match=r"'amount' is not numeric: 1 row holds text such as 'twelve'"
    ):
        compute_rfm(df, customer="customer", date="date", amount="amount")


def test_rfm017_a_date_column_chosen_as_the_amount_is_refused(cdnow, retail):
    with pytest.raises(InvalidParameter, match="'order_date' holds dates, not amounts"):
        compute_rfm(cdnow, customer="customer_id", date="order_date", amount="order_date")
    # dates kept as text (category): recognised as dates too
    with pytest.raises(InvalidParameter, match="'invoice_date' holds dates, not amounts"):
        compute_rfm(retail, customer="customer_id", date="invoice", amount="invoice_date")
    # from the column table alone (before any job), the web process can already tell
    settings = settings_from_request(
        {"customer": "customer_id", "date": "order_date", "amount": "order_date"}
    )
    with pytest.raises(InvalidParameter, match="'order_date' holds dates, not amounts"):
        check_columns(settings, column_table(cdnow), sampled=False)
    settings = settings_from_request(
        {"customer": "customer_id", "date": "order_date", "amount": "customer_id"}
    )
    with pytest.raises(InvalidParameter, match="chosen for two roles"):
        check_columns(settings, column_table(cdnow), sampled=False)
    settings = settings_from_request(
        {"customer": "customer_id", "date": "order_date", "amount": "note"}
    )
    table = column_table(cdnow.assign(note="x"))
    with pytest.raises(InvalidParameter, match="'note' holds text, not numbers"):
        check_columns(settings, table, sampled=False)
    settings = settings_from_request(
        {"customer": "customer_id", "date": "amount", "amount": "order_date"}
    )
    with pytest.raises(InvalidParameter, match="'order_date' holds dates, not amounts"):
        check_columns(settings, column_table(cdnow), sampled=False)


def test_rfm018_unparseable_or_missing_dates_are_refused():
    bad = frame([("a", "2024-01-01", 1.0), ("b", "yesterday", 2.0), ("c", "2024-01-03", 3.0)])
    with pytest.raises(
        InvalidParameter, match="1 row whose date cannot be read, such as 'yesterday'"
    ):
        compute_rfm(bad, customer="customer", date="date", amount="amount")
    missing = frame([("a", None, 1.0), ("b", None, 2.0), ("c", "2024-01-03", 3.0)])
    with pytest.raises(InvalidParameter, match="'date' has no date in 2 of 3 rows"):
        compute_rfm(missing, customer="customer", date="date", amount="amount")
    numbers = frame([("a", 20240101, 1.0), ("b", 20240102, 2.0)])
    with pytest.raises(InvalidParameter, match="holds numbers, not dates"):
        compute_rfm(numbers, customer="customer", date="date", amount="amount")
    # a few missing dates: those rows are left out and counted
    few = frame([("a", None, 1.0)] + [(f"c{i}", "2024-01-03", 3.0) for i in range(5)])
    result = compute_rfm(few, customer="customer", date="date", amount="amount")
    assert result.notes["missing_date"] == 1 and len(result.customers) == 5


def test_rfm019_one_customer_only_is_refused(cdnow):
    one = frame([("a", "2024-01-01", 1.0), ("a", "2024-02-01", 2.0)])
    with pytest.raises(InvalidParameter, match=r"only one customer \(a\)"):
        compute_rfm(one, customer="customer", date="date", amount="amount")
    settings = settings_from_request(
        {"customer": "quantity", "date": "order_date", "amount": "amount"}
    )
    table = [dict(c, unique=1) if c["column"] == "quantity" else c for c in column_table(cdnow)]
    with pytest.raises(InvalidParameter, match="has only one customer"):
        check_columns(settings, table, sampled=False)
    check_columns(settings, table, sampled=True)  # a sample cannot tell: the job checks


def test_rfm020_settings_out_of_range_are_refused():
    base = {"customer": "c", "date": "d", "amount": "a"}
    for change, message in (
        ({"customer": ""}, "identifies the customer"),
        ({"amount": None}, "amount column, or both"),
        ({"k": 11}, "from 2 to 10"),
        ({"k": "2.5"}, "from 2 to 10"),
        ({"margin": 0}, "profit margin"),
        ({"scheme": "deciles"}, "quintiles or quartiles"),
        ({"returns": "keep"}, "netted or excluded"),
        ({"as_of": "soon"}, "not a date"),
    ):
        with pytest.raises(InvalidParameter, match=message):
            settings_from_request({**base, **change})
    assert settings_from_request({**base, "margin": 25}).margin == 0.25
    table = [{"column": n, "dtype": "float64"} for n in "cda"]
    with pytest.raises(InvalidParameter, match="'x' .* is not in the dataset"):
        check_columns(RfmSettings("x", "d", "a"), table, sampled=False)


# --- column detection ------------------------------------------------------------------------


def test_rfm021_columns_are_detected_by_name_and_type(cdnow, retail):
    assert detect_columns(column_table(cdnow)) == {
        "customer": "customer_id",
        "date": "order_date",
        "amount": "amount",
        "invoice": None,
        "quantity": None,
        "unit_price": None,
    }
    found = detect_columns(column_table(optimize_frame(retail)[0]))
    assert (found["customer"], found["date"], found["amount"], found["invoice"]) == (
        "customer_id",
        "invoice_date",
        "amount",
        "invoice",
    )
    online_retail = [
        {"column": "InvoiceNo", "dtype": "str"},
        {"column": "StockCode", "dtype": "str"},
        {"column": "Quantity", "dtype": "int32"},
        {"column": "InvoiceDate", "dtype": "datetime64[ns]"},
        {"column": "UnitPrice", "dtype": "float64"},
        {"column": "CustomerID", "dtype": "float64"},
        {"column": "Country", "dtype": "category"},
    ]
    assert detect_columns(online_retail) == {
        "customer": "CustomerID",
        "date": "InvoiceDate",
        "amount": None,
        "invoice": "InvoiceNo",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
    }


# --- clusters --------------------------------------------------------------------------------


def test_rfm022_clusters_match_scikit_learn_and_are_numbered_by_value(retail):
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    base = compute_rfm(
        retail, customer="customer_id", date="invoice_date", amount="amount", invoice="invoice"
    )
    result = add_clusters(base, 3)
    customers = result.customers
    assert list(customers.columns).index("cluster") == list(customers.columns).index("segment") + 1
    assert sorted(customers["cluster"].unique()) == [1, 2, 3]
    means = customers.groupby("cluster")["monetary"].mean()
    assert means.is_monotonic_decreasing
    elbow = {e["k"]: e for e in result.clusters.elbow}
    assert sorted(elbow) == list(range(2, 11))
    assert elbow[2]["inertia"] > elbow[10]["inertia"]
    # fewer customers than the silhouette cap: it is sklearn's score on all of them
    values = np.log1p(customers[["recency", "frequency", "monetary"]].to_numpy(float))
    scaled = StandardScaler().fit_transform(values)
    assert result.clusters.silhouette_sample == len(customers)
    reference = silhouette_score(scaled, customers["cluster"])
    assert elbow[3]["silhouette"] == pytest.approx(reference)
    profiles = result.summary()["clusters"]["profiles"]
    assert [p["customers"] for p in profiles] == customers[
        "cluster"
    ].value_counts().sort_index().tolist()
    assert all(p["description"] for p in profiles)


def test_rfm023_more_clusters_than_distinct_customers_is_refused():
    rows = [(f"c{i}", "2024-03-01" if i % 2 else "2024-01-01", 10.0) for i in range(20)]
    result = compute_rfm(frame(rows), customer="customer", date="date", amount="amount")
    with pytest.raises(InvalidParameter, match="cannot form 4 clusters"):
        add_clusters(result, 4)
    with pytest.raises(InvalidParameter, match="from 2 to 10"):
        add_clusters(result, 1)


def test_rfm024_batched_reader_returns_what_pandas_reads(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dashboard.rfm._read import read_columns

    # two row groups with different dictionaries, a missing id, text and dates
    first = pd.DataFrame(
        {
            "customer": pd.Categorical(["b", "a", None, "b"]),
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04"]),
            "amount": [1.0, 2.0, 3.0, None],
            "note": ["x", "y", None, "z"],
        }
    )
    second = first.assign(customer=pd.Categorical(["c", "a", "c", None]))
    path = tmp_path / "t.parquet"
    with pq.ParquetWriter(path, pa.Schema.from_pandas(first, preserve_index=False)) as writer:
        for part in (first, second):
            writer.write_table(pa.Table.from_pandas(part, preserve_index=False))
    got = read_columns(path, ["amount", "customer", "note", "when"], batch_rows=3)
    expected = pd.read_parquet(path)[["amount", "customer", "note", "when"]]
    assert list(got.columns) == ["amount", "customer", "note", "when"]
    assert got["customer"].astype(object).tolist() == expected["customer"].astype(object).tolist()
    assert got["amount"].equals(expected["amount"])
    assert got["when"].equals(expected["when"])
    assert got["note"].tolist() == expected["note"].tolist()
    with pytest.raises(InvalidParameter, match="'nope' is not in the dataset"):
        read_columns(path, ["nope"])


def test_rfm_silhouette_of_many_customers_is_computed_on_a_capped_sample():
    # 60,000 customers: the full silhouette would need 60,000² distances (26 GB); the cap
    # keeps it to SILHOUETTE_SAMPLE of them, drawn with the seed
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    from dashboard.rfm._clusters import SILHOUETTE_SAMPLE, cluster_customers

    rng = np.random.default_rng(1)
    n = 60_000
    recency = rng.integers(0, 500, n).astype(float)
    frequency = rng.integers(1, 30, n).astype(float)
    monetary = rng.gamma(2.0, 80.0, n) + 1
    result = cluster_customers(recency, frequency, monetary, k=4, ks=(4,))
    assert result.silhouette_sample == SILHOUETTE_SAMPLE == 3_000
    sample = np.sort(np.random.default_rng(0).choice(n, SILHOUETTE_SAMPLE, replace=False))
    scaled = StandardScaler().fit_transform(
        np.log1p(np.column_stack([recency, frequency, monetary]))
    )
    order = pd.Series(monetary).groupby(result.labels).mean()
    assert order.is_monotonic_decreasing  # cluster 1 spends most
    reference = silhouette_score(scaled[sample], result.labels[sample])
    assert result.elbow[0]["silhouette"] == pytest.approx(reference)
