"""LIF at an equal long-tail budget: every method's LIF@K read at the full method's number of long-tail items.

LIF@K counts only hits on long-tail items, so a list wins it by spending its K slots on long-tail items, whatever
that costs in FHR: on MovieLens small item-CF puts about 15 long-tail items in its top 20 and the full method
about 4. Here each method keeps, per sample, only its first B long-tail items (in its own order), where B is how
many long-tail items the reference method (the full method) put in that sample's top K. The reference's own
figure is then its LIF@K, and the comparison asks which method ranks the long tail better, not which gives it
more room. A method with fewer long-tail items in its top K than B keeps all it has: a popularity list is not
read deeper than the K items every method stores.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pandas as pd

from ..data.samples import long_tail_items
from .intervals import bootstrap_interval, paired_test


def long_tail_head(ranked: Sequence[str], long_tail: Collection[str], budget: int) -> list[str]:
    """The first `budget` long-tail items of a best-first list.

    >>> long_tail_head(["a", "t1", "b", "t2", "t3"], {"t1", "t2", "t3"}, 2)
    ['t1', 't2']
    """
    return [item for item in ranked if item in long_tail][:budget]


def budget_hits(metrics: pd.DataFrame, future_negatives: dict, long_tail: Collection[str],
                reference: str) -> pd.DataFrame:
    """Per method and sample that has a long-tail future negative: the reference's budget (its long-tail items in
    the top K) and whether the method's first that many long-tail items hold one of those negatives.

    `metrics` is the per-sample table (method, sample_id, user_id, ranked: each method's top K);
    `future_negatives` maps a sample id to its future window's negatives."""
    reference_lists = metrics.loc[metrics["method"] == reference].set_index("sample_id")["ranked"]
    budgets = {sample: sum(item in long_tail for item in ranked) for sample, ranked in reference_lists.items()}
    rows = []
    for row in metrics.itertuples():
        tail_future = {item for item in future_negatives.get(row.sample_id, ()) if item in long_tail}
        if not tail_future or row.sample_id not in budgets:
            continue
        head = long_tail_head(list(row.ranked), long_tail, budgets[row.sample_id])
        rows.append({"method": row.method, "sample_id": row.sample_id, "user_id": row.user_id,
                     "budget": budgets[row.sample_id], "hit": float(any(item in tail_future for item in head))})
    return pd.DataFrame(rows, columns=["method", "sample_id", "user_id", "budget", "hit"])


def budget_summary(metrics: pd.DataFrame, future_negatives: dict, long_tail: Collection[str],
                   reference: str) -> list[dict]:
    """Per method: its mean long-tail items per top K (over every sample), its LIF@K at the reference's budget
    with a cluster-bootstrap interval (users resampled), and the paired test against the reference's (signs
    flipped per user). Empty when no sample has a long-tail future negative."""
    hits = budget_hits(metrics, future_negatives, long_tail, reference)
    if hits.empty:
        return []
    reference_hits = hits[hits["method"] == reference].set_index("sample_id")["hit"]
    rows = []
    for method, frame in metrics.groupby("method", sort=False):
        own = hits[hits["method"] == method]
        interval = bootstrap_interval(own["hit"].tolist(), own["user_id"].tolist())
        paired = own.set_index("sample_id").join(reference_hits.rename("reference"), how="inner")
        test = None if method == reference or paired.empty else paired_test(
            paired["hit"], paired["reference"], paired["user_id"])
        rows.append({"method": method,
                     "long_tail_items": float(frame["ranked"].map(lambda r: sum(i in long_tail for i in r)).mean()),
                     "lif_at_budget": interval.to_dict() if interval else None,
                     "difference_vs_reference": None if test is None else test["difference"],
                     "p_value_vs_reference": None if test is None else test["p_value"]})
    return rows


def split_budget_summary(workspace, metrics: pd.DataFrame, samples: pd.DataFrame, reference: str) -> list[dict]:
    """`budget_summary` of one split's per-sample metrics, with that split's `samples` (their future windows) and
    the workspace's long-tail items."""
    return budget_summary(metrics, dict(zip(samples["sample_id"], samples["future_negatives"])),
                          long_tail_items(workspace), reference)
