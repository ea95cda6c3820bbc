"""The guard around mining: bounds that never underestimate, refusal, adaptation, scale."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

from dashboard.basket import _guard as guard
from dashboard.basket._find import find_rules
from dashboard.basket._layouts import encode
from dashboard.basket._synth import generate_transactions
from dashboard.data._samples import retail_transactions
from dashboard.errors import InvalidParameter

#: What a job gets in a 1 GB container: the budget minus the web worker, 90 % of it, minus
#: the job process itself with the transactions read (see callbacks.basket._working_mb).
CONTAINER_WORKING_MB = 450


@pytest.fixture(scope="module")
def retail():
    return retail_transactions()


@pytest.fixture(scope="module")
def retail_matrix(retail):
    return encode(retail, "long", transaction="invoice", item="product")


def test_mb020_kruskal_katona_bound():
    assert guard.kruskal_katona(math.comb(5, 2), 2) == math.comb(5, 3)  # a complete graph
    assert guard.kruskal_katona(3, 2) == 1  # three edges: at most one triangle
    assert guard.kruskal_katona(2, 2) == 0
    assert guard.kruskal_katona(math.comb(30, 4) + 1, 4) == math.comb(30, 5)
    assert guard.kruskal_katona(10**15, 1) == math.comb(10**15, 2)  # fast for huge families


@pytest.mark.parametrize("support", [0.002, 0.005, 0.01, 0.03])
def test_mb021_itemset_bounds_never_underestimate(retail_matrix, support):
    tx = retail_matrix
    checker = guard.Guard(tx.matrix, support)
    scenario = checker.scenario(support, None)
    keep = scenario.keep
    onehot = pd.DataFrame(tx.matrix[:, keep].toarray(), columns=[tx.items[i] for i in keep])
    found = fpgrowth(onehot, min_support=support)
    actual = np.bincount(found["itemsets"].map(len), minlength=len(scenario.levels) + 1)[1:]
    assert len(actual) <= len(scenario.levels)
    assert all(b >= a for a, b in zip(actual, scenario.levels, strict=False))
    assert scenario.levels[0] == actual[0] and scenario.pairs == actual[1]  # exact


def test_mb022_a_run_that_cannot_fit_is_refused_before_mining_with_advice(retail):
    # 3 MB: not even the matrix of frequent items and their pairs fits at this support
    kwargs = {"layout": "long", "transaction": "invoice", "item": "product"}
    with pytest.raises(InvalidParameter) as refused:
        find_rules(retail, min_support=0.001, max_len=4, memory_limit_mb=3, **kwargs)
    message = str(refused.value)
    assert "so it was not started" in message and "more than the 3 MB available" in message
    suggested = float(message.split("minimum support of at least ")[1].split(" ")[0].rstrip("."))
    # the suggestion really fits in the same budget
    result = find_rules(retail, min_support=suggested, max_len=4, memory_limit_mb=3, **kwargs)
    assert result.parameters["min_support"] == suggested and result.note is None


def test_mb023_without_a_maximum_length_a_heavy_run_is_limited_and_says_so(retail):
    kwargs = {"layout": "long", "transaction": "invoice", "item": "product", "min_support": 0.0005}
    result = find_rules(retail, memory_limit_mb=60, **kwargs)
    used = result.parameters["max_len"]
    assert used is not None and used >= 2
    assert f"limited to {used} items" in result.note
    assert result.itemsets["length"].max() <= used
    # the adapted run equals the run asked with that maximum length
    direct = find_rules(retail, max_len=used, memory_limit_mb=2_000, **kwargs)
    pd.testing.assert_frame_equal(result.rules, direct.rules)
    assert direct.note is None


def test_mb024_mining_stops_at_the_itemset_limit_when_a_length_was_asked(retail):
    kwargs = {"layout": "long", "transaction": "invoice", "item": "product", "min_support": 0.0005}
    with pytest.raises(InvalidParameter, match="so it was stopped before memory ran out"):
        find_rules(retail, max_len=8, memory_limit_mb=25, **kwargs)


def test_mb025_too_many_rules_are_refused_with_an_exact_support_that_fits(retail):
    kwargs = {"layout": "long", "transaction": "invoice", "item": "product", "max_len": 8}
    with pytest.raises(InvalidParameter) as refused:
        find_rules(retail, min_support=0.0005, memory_limit_mb=40, **kwargs)
    message = str(refused.value)
    assert "possible rules, more than fit in the 40 MB available" in message
    assert "a maximum length of 2" in message
    suggested = float(message.split("minimum support of at least ")[1].rstrip("."))
    assert suggested < 0.005  # exact, from the mined itemsets: not a loose bound
    result = find_rules(retail, min_support=suggested, memory_limit_mb=40, **kwargs)
    assert len(result.rules) > 100 and result.note is None


def test_mb027_rule_limit_per_length():
    lengths = np.array([1] * 50 + [2] * 100 + [3] * 1000 + [4] * 5000)
    assert guard.rules_length_limit(lengths, budget_mb=10_000) is None
    allowed = guard.rules_length_limit(lengths, budget_mb=2)
    assert allowed == 2
    assert guard.levels_mb([50, 100]) <= 2 < guard.levels_mb([50, 100, 1000])
    assert guard.rules_length_limit(lengths, budget_mb=0.01) == 0


@pytest.mark.parametrize(("transactions", "items"), [(20_000, 2_500), (100_000, 2_000)])
def test_mb026_large_catalogues_run_with_default_settings(transactions, items):
    data = generate_transactions(transactions, items, seed=3)
    result = find_rules(
        data,
        layout="long",
        transaction="transaction",
        item="item",
        memory_limit_mb=CONTAINER_WORKING_MB,
    )
    assert result.note is None and result.n_transactions == transactions
    assert result.n_items > 0.95 * items and result.n_frequent_items < 300  # pruned first
    assert len(result.rules) > 50 and result.estimate["certain_mb"] < CONTAINER_WORKING_MB
    # equal to mlxtend on the pruned catalogue (itemsets keep only frequent items)
    if transactions == 20_000:
        baskets = data.groupby("transaction")["item"].apply(list).tolist()
        encoder = TransactionEncoder()
        onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
        found = fpgrowth(onehot, min_support=0.01, use_colnames=True)
        reference = association_rules(found, len(onehot), min_threshold=0.3)
        reference = reference[(reference["lift"] >= 1) & (reference["consequents"].map(len) == 1)]
        assert len(reference) == len(result.rules)


def test_mb028_bounds_of_a_handful_of_huge_baskets_stop_at_the_cap():
    # CDNOW's customers grouped by quantity: 45 "transactions" of ~900 of 23,570 items, and
    # a support of 0.01 is a minimum count of 1 (the cascade once ran for minutes here)
    levels = guard.level_bounds(np.full(45, 900), 23_570, 1, None, None, None)
    assert levels[0] == 23_570 and levels[-1] == guard.BOUND_CAP
    assert len(levels) <= 5  # stopped at the first length no run can hold
    rng = np.random.default_rng(0)
    rows = np.repeat(np.arange(45), 900)
    cols = np.concatenate([rng.choice(23_570, 900, replace=False) for _ in range(45)])
    matrix = sp.csr_matrix((np.ones(rows.size, bool), (rows, cols)), shape=(45, 23_570))
    with pytest.raises(InvalidParameter) as caught:
        guard.Guard(matrix, 0.01).check(None, CONTAINER_WORKING_MB)
    assert "so it was not started" in str(caught.value)
