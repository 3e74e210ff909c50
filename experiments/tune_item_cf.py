"""The item-CF baseline's history length: validation FHR@K for each length (a tuning run never reads the test
split; docs/decisions.md#item-cf cites it).

    python -m experiments.tune_item_cf WORKSPACE [--k 20]
"""

from __future__ import annotations

import argparse

import numpy as np

from conrec_core.data.samples import read_samples, seen_items
from conrec_core.data.workspace import open_workspace
from conrec_core.data.stats import training_negative_counts
from conrec_core.evaluation.item_cf import rank_item_cf, training_matrix
from conrec_core.metrics import future_hit_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace")
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()
    with open_workspace(args.workspace) as con:
        matrix, items = training_matrix(con)
        popular = training_negative_counts(con)
    samples = read_samples(args.workspace, "validation")
    seen = seen_items(args.workspace, samples["sample_id"])
    print(f"{'history':>8} {'validation':>11}")
    for history in (5, 10, 20, 50):
        ranked = rank_item_cf(matrix, items, [list(n) for n in samples["context_negatives"]],
                              [set(seen[s]) for s in samples["sample_id"]], popular, args.k, history)
        figure = np.mean([future_hit_rate(r, list(f), args.k) for r, f in zip(ranked, samples["future_negatives"])])
        print(f"{history:>8} {figure:11.4f}")


if __name__ == "__main__":
    main()
