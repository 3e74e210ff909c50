"""The SASRec baselines' settings search: validation and test FHR@K of each setting, over seeds.

    python -m experiments.tune_sasrec WORKSPACE [--seeds 3] [--grid default|short|wide] [--with-positives]
                                     [--part I/N] [--set NAME=VALUE ...]

`--set dropout=0.5 --set steps=1000` runs that one setting instead of a grid (a combination of the grid's winners).

`--part 1/2` and `--part 2/2` run alternate settings of one grid, so two processes share a 2-core machine.

Settings are chosen on the mean validation FHR@K only; the test column is printed so the choice can be
audited, never used to make it. The chosen settings are the defaults of SASRecConfig (its comments cite this
search).
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import fields, replace

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
    # the same factors at 1,000 steps: the defaults' best check falls near step 450 and early stopping keeps it
    "short": [{"dropout": 0.5, "steps": 1000}, {"max_length": 100, "steps": 1000},
              {"hidden_size": 128, "steps": 1000}, {"weight_decay": 0.1, "steps": 1000},
              {"layers": 1, "steps": 1000}, {"dropout": 0.1, "steps": 1000},
              {"learning_rate": 1e-3, "steps": 1500}, {"layers": 3, "steps": 1000}],
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
    parser.add_argument("--part", default="1/1", help="I/N: only the grid's settings I, I+N, I+2N, ...")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="one setting of SASRecConfig; given, the grid is this one setting")
    args = parser.parse_args()
    try:
        chosen = {name: float(value) if "." in value or "e" in value else int(value)
                  for name, value in (item.split("=", 1) for item in args.set)}
    except ValueError:
        parser.error(f"--set wants NAME=NUMBER, got {args.set}")
    unknown = set(chosen) - {f.name for f in fields(SASRecConfig)}
    if unknown:
        parser.error(f"SASRecConfig has no setting {', '.join(sorted(unknown))}")
    part, parts = map(int, args.part.split("/"))
    if not 1 <= part <= parts:
        parser.error(f"--part wants I/N with 1 <= I <= N, got {args.part}")
    validation, test = read_samples(args.workspace, "validation"), read_samples(args.workspace, "test")
    base = replace(SASRecConfig(), with_positives=args.with_positives, eval_samples=len(validation))
    print(f"{'setting':<48} {'val FHR':>8} {'sd':>6} {'test FHR':>9} {'sd':>6} {'best step':>9} {'s/run':>6}")
    grid = [chosen] if chosen else GRIDS[args.grid]
    for change in grid[part - 1::parts]:
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
