"""The SASRec baselines' settings search: validation and test FHR@K of each setting, over seeds.

    python -m benchmarks.tune_sasrec WORKSPACE [--seeds 3] [--grid default|wide] [--with-positives]

Settings are chosen on the mean validation FHR@K only; the test column is printed so the choice can be
audited, never used to make it. The chosen settings are the defaults of SASRecConfig (its comments cite this
search).
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import replace

import numpy as np

from conrec_core.data.samples import read_samples, seen_items
from conrec_core.evaluation.sasrec import rank_sasrec, train_sasrec
from conrec_core.evaluation.sasrec_config import SASRecConfig
from conrec_core.metrics import future_hit_rate

GRIDS = {
    # one factor at a time around the defaults, then the pairs that mattered
    "default": [{}, {"steps": 1500}, {"steps": 3000}, {"learning_rate": 1e-3, "steps": 3000},
                {"dropout": 0.5, "steps": 1500}, {"hidden_size": 128, "steps": 1500},
                {"layers": 1, "steps": 1500}, {"max_length": 100, "steps": 1500},
                {"weight_decay": 0.1, "steps": 1500}],
    "wide": [dict(zip(("hidden_size", "dropout", "learning_rate"), values)) | {"steps": 2000}
             for values in itertools.product((64, 128), (0.2, 0.5), (1e-3, 3e-3))],
}


def fhr(trained, workspace, samples, k: int) -> float:
    seen = seen_items(workspace, samples["sample_id"])
    ranked = rank_sasrec(trained, samples, [set(seen[s]) for s in samples["sample_id"]], k)
    return float(np.mean([future_hit_rate(r, list(f), k) for r, f in zip(ranked, samples["future_negatives"])]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--grid", choices=sorted(GRIDS), default="default")
    parser.add_argument("--with-positives", action="store_true")
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()
    validation, test = read_samples(args.workspace, "validation"), read_samples(args.workspace, "test")
    base = replace(SASRecConfig(), with_positives=args.with_positives, eval_samples=len(validation))
    print(f"{'setting':<48} {'val FHR':>8} {'sd':>6} {'test FHR':>9} {'sd':>6} {'best step':>9} {'s/run':>6}")
    for change in GRIDS[args.grid]:
        scores, steps, clock = [], [], time.perf_counter()
        for seed in range(args.seeds):
            config = replace(base, **change, seed=seed)
            config = replace(config, eval_every=max(1, config.steps // 10))
            trained = train_sasrec(args.workspace, config, validation)
            scores.append((max(f for _, f in trained.validation_fhr), fhr(trained, args.workspace, test, args.k)))
            steps.append(max(trained.validation_fhr, key=lambda x: x[1])[0])
        val, tst = np.array(scores).T
        label = ", ".join(f"{k}={v:g}" for k, v in change.items()) or "defaults"
        print(f"{label:<48} {val.mean():8.4f} {val.std():6.4f} {tst.mean():9.4f} {tst.std():6.4f} "
              f"{int(np.median(steps)):>9} {(time.perf_counter() - clock) / args.seeds:6.1f}", flush=True)


if __name__ == "__main__":
    main()
