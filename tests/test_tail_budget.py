"""LIF at the full method's long-tail budget, on hand-made lists whose answer can be read off."""

import pandas as pd
import pytest

from conrec_core.evaluation.tail_budget import budget_hits, budget_summary

LONG_TAIL = {"t1", "t2", "t3", "t4", "t5"}
FUTURE = {1: ["t3"], 2: ["t1", "p"], 3: ["p"], 4: ["t5"]}  # sample 3 has no long-tail future negative


def metrics(rows):
    return pd.DataFrame([{"method": m, "sample_id": s, "user_id": u, "ranked": r} for m, s, u, r in rows])


TABLE = metrics([
    # the reference spends one slot per sample on the long tail, and picks well
    ("full", 1, "u1", ["p", "t3", "q"]), ("full", 2, "u2", ["t1", "p", "q"]), ("full", 3, "u3", ["p", "q", "r"]),
    ("full", 4, "u4", ["p", "q", "t4"]),
    # item-CF fills its list with long-tail items: its LIF is higher, its first long-tail item worse
    ("cf", 1, "u1", ["t1", "t2", "t3"]), ("cf", 2, "u2", ["t2", "t1", "t4"]), ("cf", 3, "u3", ["t1", "t2", "t4"]),
    ("cf", 4, "u4", ["t4", "t5", "t1"]),
    # a popularity list has no long-tail item to offer
    ("popular", 1, "u1", ["p", "q", "r"]), ("popular", 2, "u2", ["p", "q", "r"]), ("popular", 3, "u3", ["p", "q", "r"]),
    ("popular", 4, "u4", ["p", "q", "r"]),
])


def test_each_method_keeps_only_the_references_number_of_long_tail_items():
    hits = budget_hits(TABLE, FUTURE, LONG_TAIL, "full").set_index(["method", "sample_id"])
    assert 3 not in hits.index.get_level_values("sample_id")  # no long-tail future negative: no LIF sample
    assert hits.loc[("full", 1), "budget"] == 1 and hits.loc[("full", 4), "budget"] == 1
    # cf's whole list would hit samples 1, 2 and 4; its first long-tail item hits none of them
    assert hits.xs("cf")["hit"].tolist() == [0.0, 0.0, 0.0]
    assert hits.xs("full")["hit"].tolist() == [1.0, 1.0, 0.0]
    assert hits.xs("popular")["hit"].sum() == 0.0


def test_the_summary_reads_every_method_at_the_references_budget():
    rows = {row["method"]: row for row in budget_summary(TABLE, FUTURE, LONG_TAIL, "full")}
    assert rows["full"]["lif_at_budget"]["value"] == pytest.approx(2 / 3)  # the reference's own LIF@K
    assert rows["full"]["p_value_vs_reference"] is None
    assert rows["cf"]["lif_at_budget"]["value"] == 0.0 and rows["cf"]["difference_vs_reference"] == pytest.approx(-2 / 3)
    assert rows["cf"]["long_tail_items"] == 3.0 and rows["full"]["long_tail_items"] == 0.75
    assert rows["popular"]["long_tail_items"] == 0.0
    assert 0 < rows["cf"]["p_value_vs_reference"] <= 1
    assert rows["cf"]["lif_at_budget"]["users"] == 3


def test_a_larger_budget_lets_a_method_use_more_of_its_long_tail():
    wider = pd.concat([TABLE[TABLE["method"] != "full"], metrics([
        ("full", 1, "u1", ["t1", "t3", "q"]), ("full", 2, "u2", ["t1", "t4", "t5"]), ("full", 3, "u3", ["p", "q", "r"]),
        ("full", 4, "u4", ["t4", "t2", "t5"])])])
    hits = budget_hits(wider, FUTURE, LONG_TAIL, "full").set_index(["method", "sample_id"])
    assert hits.xs("cf")["budget"].tolist() == [2, 3, 3]
    assert hits.xs("cf")["hit"].tolist() == [0.0, 1.0, 1.0]  # its second item (t1) and third (t5) now count


def test_no_long_tail_future_negative_gives_no_figure():
    assert budget_summary(TABLE, {1: ["p"], 2: ["q"]}, LONG_TAIL, "full") == []
