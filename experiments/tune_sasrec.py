"""The SASRec baselines' settings search: validation FHR@K of each setting, over seeds.

    python -m experiments.tune_sasrec WORKSPACE [--seeds 3] [--grid default|short|wide] [--with-positives]
                                     [--part I/N] [--set NAME=VALUE ...]

`--set dropout=0.5 --set steps=1000` runs that one setting instead of a grid (a combination of the grid's winners).

`--part 1/2` and `--part 2/2` run alternate settings of one grid, so two processes share a 2-core machine.

Settings are chosen on the mean validation FHR@K; a tuning run never reads the test split. Each run trains
until validation stops improving (SASRecConfig.patience). docs/decisions.md#sasrec cites this search.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import fields, replace

import numpy as np

from conrec_core.data.samples import read_samples
from conrec_core.evaluation.sasrec import train_sasrec
from conrec_core.evaluation.sasrec_config import SASRecConfig

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--grid", choices=sorted(GRIDS), default="default")
    parser.add_argument("--with-positives", action="store_true")
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
    validation = read_samples(args.workspace, "validation")
    base = replace(SASRecConfig(), with_positives=args.with_positives, eval_samples=len(validation))
    print(f"{'setting':<48} {'val FHR':>8} {'sd':>6} {'best step':>9} {'s/run':>6}")
    grid = [chosen] if chosen else GRIDS[args.grid]
    for change in grid[part - 1::parts]:
        scores, steps, clock = [], [], time.perf_counter()
        for seed in range(args.seeds):
            config = replace(base, **change, seed=seed)
            trained = train_sasrec(args.workspace, config, validation)
            scores.append(max(f for _, f in trained.validation_fhr))
            steps.append(max(trained.validation_fhr, key=lambda x: x[1])[0])
        val = np.array(scores)
        label = ", ".join(f"{k}={v:g}" for k, v in change.items()) or "defaults"
        print(f"{label:<48} {val.mean():8.4f} {val.std():6.4f} "
              f"{int(np.median(steps)):>9} {(time.perf_counter() - clock) / args.seeds:6.1f}", flush=True)


if __name__ == "__main__":
    main()
