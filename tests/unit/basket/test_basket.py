"""Market basket domain: layouts, cleaning, rules equal to mlxtend, bad input."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import apriori, association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

from dashboard.basket._find import detect_layout, find_rules, result_tables
from dashboard.data import load_table, optimize_frame
from dashboard.data._samples import retail_transactions
from dashboard.errors import InvalidParameter

#: The classic five baskets (Tan, Steinbach & Kumar, "Introduction to Data Mining").
TEXTBOOK = [
    ["bread", "milk"],
    ["bread", "diapers", "beer", "eggs"],
    ["milk", "diapers", "beer", "cola"],
    ["bread", "milk", "diapers", "beer"],
    ["bread", "milk", "diapers", "cola"],
]
MEASURES = ["support", "confidence", "lift", "leverage", "conviction"]


def long_frame(baskets) -> pd.DataFrame:
    return pd.DataFrame(
        [(f"T{i:04d}", item) for i, basket in enumerate(baskets) for item in basket],
        columns=["invoice", "product"],
    )


def mlxtend_rules(onehot: pd.DataFrame, *, support, confidence, lift=1.0, single=True):
    """mlxtend run directly: fpgrowth + association_rules, then the lift/consequent filter."""
    found = fpgrowth(onehot, min_support=support, use_colnames=True)
    rules = association_rules(found, len(onehot), metric="confidence", min_threshold=confidence)
    rules = rules[rules["lift"] >= lift]
    if single:
        rules = rules[rules["consequents"].map(len) == 1]
    return found, rules


def as_keyed(rules: pd.DataFrame, sides=("antecedents", "consequents")) -> dict:
    """``{(antecedents, consequents): {measure: value}}`` with sides as sorted tuples."""
    return {
        (tuple(sorted(a)), tuple(sorted(c))): {m: row[m] for m in MEASURES}
        for a, c, (_, row) in zip(rules[sides[0]], rules[sides[1]], rules.iterrows(), strict=True)
    }


def assert_same_rules(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    mine, reference = as_keyed(ours), as_keyed(theirs)
    assert mine.keys() == reference.keys()
    for key, values in reference.items():
        for measure, value in values.items():
            assert mine[key][measure] == pytest.approx(value, rel=1e-12), (key, measure)


# --- known answers --------------------------------------------------------------------------


def test_mb001_textbook_baskets_give_the_known_rules():
    result = find_rules(
        long_frame(TEXTBOOK), layout="long", transaction="invoice", item="product", min_support=0.6
    )
    assert result.n_transactions == 5 and result.n_items == 6 and result.n_frequent_items == 4
    itemsets = dict(zip(result.itemsets["itemset"], result.itemsets["support"], strict=True))
    assert itemsets == {
        ("bread",): 0.8,
        ("diapers",): 0.8,
        ("milk",): 0.8,
        ("beer",): 0.6,
        ("bread", "diapers"): 0.6,
        ("bread", "milk"): 0.6,
        ("diapers", "milk"): 0.6,
        ("beer", "diapers"): 0.6,
    }
    # only beer <-> diapers has a lift of at least 1 (bread -> milk has 0.9375)
    rules = result.rules
    assert list(zip(rules["antecedents"], rules["consequents"], strict=True)) == [
        (("beer",), ("diapers",)),
        (("diapers",), ("beer",)),
    ]
    beer, diapers = rules.iloc[0], rules.iloc[1]
    assert beer["confidence"] == 1.0 and math.isinf(beer["conviction"])
    assert beer["lift"] == pytest.approx(1.25) and beer["count"] == 3
    assert diapers["confidence"] == pytest.approx(0.75)
    assert diapers["leverage"] == pytest.approx(0.6 - 0.8 * 0.6)
    assert diapers["conviction"] == pytest.approx((1 - 0.6) / (1 - 0.75))

    with_low_lift = find_rules(
        long_frame(TEXTBOOK), layout="long", transaction="invoice", item="product",
        min_support=0.6, min_lift=0.0,
    )  # fmt: skip
    bread_milk = with_low_lift.rules[
        (with_low_lift.rules["antecedents"] == ("bread",))
        & (with_low_lift.rules["consequents"] == ("milk",))
    ]
    assert bread_milk["lift"].item() == pytest.approx(0.75 / 0.8)


def test_mb002_consequents_of_several_items_only_when_asked():
    kwargs = {"layout": "long", "transaction": "invoice", "item": "product", "min_support": 0.4}
    single = find_rules(long_frame(TEXTBOOK), **kwargs)
    multi = find_rules(long_frame(TEXTBOOK), single_consequent=False, **kwargs)
    assert (single.rules["consequents"].map(len) == 1).all()
    assert (multi.rules["consequents"].map(len) > 1).any()
    assert set(single.rules["antecedents"] + single.rules["consequents"]) <= set(
        multi.rules["antecedents"] + multi.rules["consequents"]
    )


def test_mb003_minimum_count_equals_the_same_support_as_a_share():
    kwargs = {"layout": "long", "transaction": "invoice", "item": "product"}
    by_count = find_rules(long_frame(TEXTBOOK), min_count=3, **kwargs)
    by_share = find_rules(long_frame(TEXTBOOK), min_support=0.6, **kwargs)
    pd.testing.assert_frame_equal(by_count.rules, by_share.rules)
    assert by_count.parameters["min_count"] == 3


# --- the three layouts --------------------------------------------------------------------


def layouts_of(baskets):
    """The same transactions as long, delimited basket, spread basket and one-hot tables."""
    long = long_frame(baskets)
    delimited = pd.DataFrame({"items": [", ".join(b) for b in baskets]})
    width = max(len(b) for b in baskets)
    spread = pd.DataFrame(
        [list(b) + [None] * (width - len(b)) for b in baskets],
        columns=[f"item{i + 1}" for i in range(width)],
    )
    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
    return long, delimited, spread, onehot


def test_mb004_long_basket_and_onehot_layouts_give_identical_rules():
    retail = retail_transactions()
    baskets = [list(g) for _, g in retail.groupby("invoice", sort=False)["product"]]
    # names that cleaning must treat alike in every layout: padded names (one-hot columns
    # "milk" and " milk " are one item), the same item twice, and "no item" placeholders
    for i, basket in enumerate(baskets):
        if i % 4 == 1:
            basket[0] = f" {basket[0]} "
        if i % 7 == 2:
            basket.append(f"{basket[-1].strip()}  ")
        if i % 5 == 3:
            basket.append(("nan", "None", "")[i % 3])
    long, delimited, spread, onehot = layouts_of(baskets)
    assert {"", "nan", "None"} <= set(onehot.columns)
    assert any(c != c.strip() and c.strip() in onehot.columns for c in onehot.columns)
    kwargs = {"min_support": 0.01, "min_confidence": 0.3, "single_consequent": False}
    results = [
        find_rules(long, layout="long", transaction="invoice", item="product", **kwargs),
        find_rules(delimited, layout="basket", columns=["items"], sep=",", **kwargs),
        find_rules(spread, layout="basket", columns=list(spread.columns), **kwargs),
        find_rules(onehot, layout="onehot", **kwargs),
    ]
    first = results[0]
    assert len(first.rules) > 500 and first.n_transactions == len(baskets)
    for other in results[1:]:
        pd.testing.assert_frame_equal(other.rules, first.rules)
        pd.testing.assert_frame_equal(other.itemsets, first.itemsets)
        pd.testing.assert_frame_equal(other.items, first.items)


def test_mb005_item_names_are_cleaned_the_same_way_in_every_layout():
    baskets = [
        [" bread ", "butter", "nan"],
        ["bread", " butter", "None"],
        ["bread", "jam", ""],
        ["NULL", "none"],  # an empty basket: still a transaction
        ["jam", "butter  "],
    ]
    long, delimited, spread, _ = layouts_of(baskets)
    long.loc[len(long)] = ["T0001", None]  # a missing item in an existing basket
    onehot = pd.DataFrame(
        {
            "bread": [1, 1, 1, 0, 0],
            " butter": [1, 1, 0, 0, 1],
            "jam": [0, 0, 1, 0, np.nan],  # missing means "not bought"
        }
    )
    onehot.loc[4, "jam"] = 1
    onehot["butter"] = pd.array([True, True, False, None, True], dtype="boolean")
    onehot = onehot.drop(columns=[" butter"])  # nullable booleans: missing is "not bought"
    kwargs = {"min_support": 0.2, "min_confidence": 0.1, "min_lift": 0.0}
    results = [
        find_rules(long, layout="long", transaction="invoice", item="product", **kwargs),
        find_rules(delimited, layout="basket", columns=["items"], sep=",", **kwargs),
        find_rules(spread, layout="basket", columns=list(spread.columns), **kwargs),
        find_rules(onehot, layout="onehot", **kwargs),
    ]
    for result in results:
        assert list(result.items["item"]) == ["bread", "butter", "jam"]
        assert list(result.items["count"]) == [3, 3, 2]
        assert result.n_transactions == 5 and result.empty_transactions == 1
        pd.testing.assert_frame_equal(result.rules, results[0].rules)


def test_mb006_numeric_item_codes_are_names():
    frame = pd.DataFrame({"order": [1, 1, 2, 2, 3, 3], "sku": [1017, 2044, 1017, 2044, 1017, None]})
    result = find_rules(frame, layout="long", transaction="order", item="sku", min_support=0.5)
    assert list(result.items["item"]) == ["1017", "2044"]  # not "1017.0"
    pairs = set(zip(result.rules["antecedents"], result.rules["consequents"], strict=True))
    assert (("1017",), ("2044",)) in pairs


# --- equal to mlxtend on real data ------------------------------------------------------


@pytest.fixture(scope="module")
def movies(shared_data):
    return pd.read_csv(shared_data / "movie_genres.csv")


@pytest.mark.parametrize(
    ("support", "confidence", "single"), [(0.01, 0.3, True), (0.002, 0.1, False)]
)
def test_mb007_movie_genres_rules_equal_mlxtend(movies, support, confidence, single):
    genres = [c for c in movies.columns if c not in ("title", "year")]
    result = find_rules(
        movies, min_support=support, min_confidence=confidence, single_consequent=single
    )
    assert result.layout == "onehot" and result.n_transactions == 58_788
    assert result.empty_transactions == 12_786  # films without a genre still count
    found, reference = mlxtend_rules(
        movies[genres].astype(bool), support=support, confidence=confidence, single=single
    )
    assert_same_rules(result.rules, reference)
    theirs = dict(
        zip(found["itemsets"].map(lambda s: tuple(sorted(s))), found["support"], strict=True)
    )
    ours = dict(zip(result.itemsets["itemset"], result.itemsets["support"], strict=True))
    assert ours == theirs
    assert len(reference) > 5


def test_mb008_apriori_gives_the_fpgrowth_rules(movies):
    kwargs = {"min_support": 0.005, "min_confidence": 0.2, "single_consequent": False}
    by_fp = find_rules(movies, **kwargs)
    by_apriori = find_rules(movies, algorithm="apriori", **kwargs)
    assert_same_rules(by_apriori.rules, by_fp.rules)
    genres = movies.drop(columns=["title", "year"]).astype(bool)
    found = apriori(genres, min_support=0.005, use_colnames=True)
    assert len(found) == len(by_apriori.itemsets)


def test_mb009_retail_rules_equal_mlxtend_with_transaction_encoder():
    retail = retail_transactions()
    baskets = [list(g) for _, g in retail.groupby("invoice", sort=False)["product"]]
    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
    _, reference = mlxtend_rules(onehot, support=0.005, confidence=0.2, lift=1.5, single=False)
    result = find_rules(
        retail, layout="long", transaction="invoice", item="product", min_support=0.005,
        min_confidence=0.2, min_lift=1.5, single_consequent=False,
    )  # fmt: skip
    assert len(reference) > 1_000
    assert_same_rules(result.rules, reference)
    assert result.rules["lift"].is_monotonic_decreasing


# --- layout detection ---------------------------------------------------------------------


def test_mb010_layout_detection(movies):
    long, delimited, spread, onehot = layouts_of(TEXTBOOK * 10)
    guess = detect_layout(retail_transactions().head(1000))
    assert (guess.layout, guess.transaction, guess.item) == ("long", "invoice", "product")
    assert guess.quantity == "quantity" and "returns" in guess.reason
    guess = detect_layout(delimited)
    assert (guess.layout, guess.columns, guess.sep) == ("basket", ("items",), ",")
    assert detect_layout(spread.assign(store=["north"] * 50)).columns == tuple(spread.columns)
    assert detect_layout(onehot).layout == "onehot"
    guess = detect_layout(movies.head(500))
    assert guess.layout == "onehot" and "year" not in guess.columns and len(guess.columns) == 7
    assert detect_layout(pd.DataFrame({"x": [1.5, 2.5], "y": [3.1, 4.2]})).layout is None
    # free text with commas is not a basket
    notes = pd.DataFrame({"note": ["Delivered late, customer unhappy with the service"] * 20})
    assert detect_layout(notes).layout != "basket"


def test_mb010b_a_measure_is_never_the_transaction_and_a_handful_of_huge_baskets_is_refused(
    shared_data,
):
    frame, _ = optimize_frame(load_table(shared_data / "cdnow_transactions.csv"))
    guess = detect_layout(frame.head(500))  # once "'customer_id' grouped by 'quantity'"
    assert guess.layout is None and guess.transaction is None
    with pytest.raises(InvalidParameter) as caught:
        find_rules(frame, layout="long", transaction="quantity", item="customer_id")
    assert str(caught.value) == (
        "'quantity' has only 45 distinct values, so it makes 45 transactions of 896 items "
        "each on average: that is not one transaction per order or basket. Choose the column "
        "that identifies an order (an invoice or order number) as the transaction column."
    )
    # small textbook baskets are not that: fewer transactions than items is fine when
    # the baskets are small
    assert len(find_rules(long_frame(TEXTBOOK), min_support=0.4).rules) > 0


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_support": 1.5}, "between 0 and 1 (got 1.5)"),
        ({"min_support": -0.1}, "must be above 0"),
        ({"min_support": 0}, "must be above 0"),
        ({"min_confidence": 2}, "Minimum confidence must be between 0 and 1"),
        ({"min_lift": -1}, "cannot be negative"),
        ({"max_len": 1}, "at least 2 items"),
        ({"min_count": 0}, "at least 1"),
        ({"min_count": 99}, "more than the 5 transactions"),
        ({"algorithm": "eclat"}, "Unknown algorithm"),
    ],
)
def test_mb011_impossible_parameters_are_refused(kwargs, message):
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        find_rules(
            long_frame(TEXTBOOK), layout="long", transaction="invoice", item="product", **kwargs
        )


def test_mb012_data_that_cannot_give_rules_is_refused():
    one_transaction = long_frame([["bread", "butter", "jam"]])
    with pytest.raises(InvalidParameter, match="only one transaction"):
        find_rules(one_transaction, layout="long", transaction="invoice", item="product")
    one_item = long_frame([["bread"], ["bread"], [" bread "]])
    with pytest.raises(InvalidParameter, match=r"Only one distinct item \('bread'\)"):
        find_rules(one_item, layout="long", transaction="invoice", item="product")
    retail = retail_transactions()
    with pytest.raises(InvalidParameter, match="'amount' holds numeric amounts"):
        find_rules(retail, layout="long", transaction="invoice", item="amount")
    with pytest.raises(InvalidParameter, match="'quantity' holds numeric amounts"):
        find_rules(retail, layout="long", transaction="invoice", item="quantity")  # returns < 0


def test_mb013_a_layout_that_does_not_match_the_data_is_refused(movies):
    with pytest.raises(InvalidParameter, match="'Action' holds only 0/1 or true/false"):
        find_rules(movies, layout="long", transaction="title", item="Action")
    with pytest.raises(InvalidParameter, match="'Comedy' holds only 0/1 or true/false"):
        find_rules(movies, layout="basket", columns=["Comedy", "Drama"])
    retail = retail_transactions()
    with pytest.raises(InvalidParameter, match="Every value of 'product' has a single item"):
        find_rules(retail.drop_duplicates("product"), layout="long", transaction="product",
                   item="invoice")  # fmt: skip
    with pytest.raises(InvalidParameter, match="'year' holds values other than 0/1"):
        find_rules(movies, layout="onehot", columns=["Action", "year"])
    with pytest.raises(InvalidParameter, match="No column holds only 0/1"):
        find_rules(retail, layout="onehot")
    with pytest.raises(InvalidParameter, match="No value of 'product' contains the separator"):
        find_rules(retail, layout="basket", columns=["product"], sep=";")
    with pytest.raises(InvalidParameter, match="Column 'basket' is not in the dataset"):
        find_rules(retail, layout="long", transaction="basket", item="product")
    with pytest.raises(InvalidParameter, match="must differ"):
        find_rules(retail, layout="long", transaction="product", item="product")


def test_mb014_nothing_frequent_gives_an_explained_empty_result():
    result = find_rules(
        long_frame(TEXTBOOK), layout="long", transaction="invoice", item="product", min_support=0.9
    )
    assert result.rules.empty and result.itemsets.empty and result.n_frequent_items == 0
    _, _, meta = result_tables(result)
    assert "No item is in at least 90 %" in " ".join(meta["summary"])
    assert "bread, is in 80 %" in " ".join(meta["summary"])
    strict = find_rules(
        long_frame(TEXTBOOK), layout="long", transaction="invoice", item="product",
        min_support=0.6, min_confidence=1.0, min_lift=2.0,
    )  # fmt: skip
    _, _, meta = result_tables(strict)
    assert strict.rules.empty and "The most reliable pair is beer → diapers" in " ".join(
        meta["summary"]
    )


# --- stored tables ------------------------------------------------------------------------


def test_mb015_stored_tables_join_items_readably_and_meta_is_small():
    result = find_rules(retail_transactions(), layout="long", transaction="invoice", item="product")
    rules, itemsets, meta = result_tables(result)
    assert meta["item_separator"] == ", "
    assert rules.columns[:2].tolist() == ["antecedents", "consequents"]
    assert rules["antecedents"].iloc[0] == ", ".join(result.rules["antecedents"].iloc[0])
    assert itemsets["itemset"].str.contains("spaghetti, tomato sauce").any()
    assert meta["counts"]["rules"] == len(rules) and len(meta["scatter"]["support"]) == len(rules)
    assert len(meta["network"]["rules"]) == 25 and meta["top_items"][0]["item"] == "milk"
    for point in meta["network"]["items"]:
        assert -1.0 <= point["x"] <= 1.0 and -1.0 <= point["y"] <= 1.0
    assert len(str(meta)) < 200_000
    summary = " ".join(meta["summary"])
    assert "4,892 transactions with 62 distinct items" in summary and "Strongest rule" in summary


def test_mb016_names_with_commas_get_another_separator():
    baskets = [["salt, coarse", "pepper"], ["salt, coarse", "pepper"], ["pepper", "oil"]]
    result = find_rules(long_frame(baskets), layout="long", transaction="invoice", item="product",
                        min_support=0.5)  # fmt: skip
    rules, _, meta = result_tables(result)
    assert meta["item_separator"] == " | "
    assert "salt, coarse" in set(rules["antecedents"]) | set(rules["consequents"])


def test_mb017_returned_lines_are_left_out_with_a_quantity_column():
    retail = retail_transactions()
    result = find_rules(
        retail, layout="long", transaction="invoice", item="product", quantity="quantity"
    )
    returns = retail["quantity"] <= 0
    assert result.returned_rows == int(returns.sum()) and result.n_transactions == 4_600
    bought = retail[~returns]
    same = find_rules(bought, layout="long", transaction="invoice", item="product")
    pd.testing.assert_frame_equal(result.rules, same.rules)
    detected = find_rules(retail)  # layout, columns and quantity detected
    pd.testing.assert_frame_equal(detected.rules, result.rules)
    _, _, meta = result_tables(result)
    assert "296 rows with a quantity of 0 or less (returns) were left out." in meta["summary"]
    with pytest.raises(InvalidParameter, match="'invoice_date' must hold numbers"):
        find_rules(
            retail, layout="long", transaction="invoice", item="product", quantity="invoice_date"
        )
    with pytest.raises(InvalidParameter, match="long layout only"):
        find_rules(retail, layout="onehot", quantity="quantity")


def test_mb018_numeric_amounts_named_like_amounts_are_refused_codes_are_not():
    retail = retail_transactions()
    bought = retail[retail["quantity"] > 0]  # whole, positive quantities: still amounts
    with pytest.raises(InvalidParameter, match="'quantity' holds numeric amounts") as refused:
        find_rules(bought, layout="long", transaction="invoice", item="quantity")
    assert "choose the column that names or codes the products" in str(refused.value)
    lines = pd.DataFrame(
        {
            "order": [1, 1, 2, 2, 3, 3],
            "Unit Price": [10.0, 20.0, 10.0, 20.0, 10.0, None],  # round prices
            "TotalAmount": [5, 7, 5, 7, 5, 7],
            "sku": [1017.0, 2044.0, 1017.0, 2044.0, 1017.0, None],  # codes read as floats
        }
    )
    for column in ("Unit Price", "TotalAmount"):
        with pytest.raises(InvalidParameter, match=f"'{column}' holds numeric amounts"):
            find_rules(lines, layout="long", transaction="order", item=column)
    spread = pd.DataFrame({"qty_1": [1, 2, 1, 3], "qty_2": [2, 1, 3, 1]})
    with pytest.raises(InvalidParameter, match="'qty_1' holds numeric amounts"):
        find_rules(spread, layout="basket", columns=["qty_1", "qty_2"])
    result = find_rules(lines, layout="long", transaction="order", item="sku", min_support=0.5)
    assert list(result.items["item"]) == ["1017", "2044"]  # integer codes stay items


def test_mb019_spread_columns_that_are_ids_or_share_nothing_are_refused():
    retail = retail_transactions()
    with pytest.raises(InvalidParameter, match="'invoice', 'product' have no value in common"):
        find_rules(retail, layout="basket", columns=["invoice", "product"])  # long data
    numbered = retail.assign(line=np.arange(len(retail)))
    with pytest.raises(InvalidParameter, match="'line' has a different value in almost every"):
        find_rules(numbered, layout="basket", columns=["line", "product"])
    baskets = [list(g) for _, g in retail.groupby("invoice", sort=False)["product"]]
    _, _, spread, _ = layouts_of(baskets)
    ids = spread.assign(receipt=[f"R{i}" for i in range(len(spread))])
    with pytest.raises(InvalidParameter, match="choose the long layout") as refused:
        find_rules(ids, layout="basket", columns=["receipt", *spread.columns])
    assert "'receipt' has a different value in almost every row" in str(refused.value)
    result = find_rules(spread, layout="basket", columns=list(spread.columns))
    assert result.n_transactions == len(baskets)  # real spread items still pass


def test_mb020_given_columns_and_separator_win_over_detection():
    skus = pd.DataFrame({"order": [1, 1, 2, 2, 3, 3, 4], "sku": [17, 24, 17, 24, 17, 35, 24]})
    assert detect_layout(skus).layout is None  # integer codes: nothing recognised
    given = find_rules(skus, transaction="order", item="sku", min_support=0.5)
    named = find_rules(skus, layout="long", transaction="order", item="sku", min_support=0.5)
    assert given.layout == "long"
    pd.testing.assert_frame_equal(given.rules, named.rules)
    retail = retail_transactions()  # the quantity is still detected: returns left out
    assert find_rules(retail, transaction="invoice", item="product").returned_rows == 296

    names = pd.DataFrame(
        {"items": ["bread, white;jam", "jam;bread, white", "butter, salted;jam", "jam;tea, green"]}
    )
    assert detect_layout(names).sep == ","
    result = find_rules(names, sep=";", min_support=0.25)
    assert sorted(result.items["item"]) == ["bread, white", "butter, salted", "jam", "tea, green"]
