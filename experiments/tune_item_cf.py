"""The item-CF baseline's history length: validation and test FHR@K for each length.

    python -m experiments.tune_item_cf WORKSPACE [--k 20]

The length is chosen on validation; test is printed so the choice can be audited (item_cf.HISTORY cites it).
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
    print(f"{'history':>8} {'validation':>11} {'test':>7}")
    for history in (5, 10, 20, 50):
        figures = []
        for split in ("validation", "test"):
            samples = read_samples(args.workspace, split)
            seen = seen_items(args.workspace, samples["sample_id"])
            ranked = rank_item_cf(matrix, items, [list(n) for n in samples["context_negatives"]],
                                  [set(seen[s]) for s in samples["sample_id"]], popular, args.k, history)
            figures.append(np.mean([future_hit_rate(r, list(f), args.k)
                                    for r, f in zip(ranked, samples["future_negatives"])]))
        print(f"{history:>8} {figures[0]:11.4f} {figures[1]:7.4f}")


if __name__ == "__main__":
    main()
