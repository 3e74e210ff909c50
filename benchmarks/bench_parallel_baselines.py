"""The pipeline's baselines ranked in turn in one process against side by side, a process per SASRec model.

    python -m benchmarks.bench_parallel_baselines [--workspace WS] [--steps N]

Both runs rank every baseline of the default pipeline on the test split with the default SASRec settings (or N
steps) on copies of the workspace: in turn first, as `pipeline --no-baselines-side-by-side` does, then in the groups the
pipeline runs side by side (`evaluation/baselines.py::training_groups`, `experiment/side_by_side.py`). Prints each
run's wall time, the ratio and the largest difference in mean FHR@20 between the runs (the processes use fewer
threads each, so float sums differ in the last digits). Default workspace: the synthetic sample. Run it with
nothing else on the machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--steps", type=int, help="SASRec training steps (default: the pipeline's)")
    args = parser.parse_args()

    import torch

    from conrec_core.evaluation.baselines import training_groups
    from conrec_core.experiment.spec import ExperimentSpec, quick_spec
    from conrec_core.evaluation.scoring import evaluate_baselines, read_sample_metrics
    from conrec_core.experiment.side_by_side import Job, run_side_by_side, side_by_side_workers
    from conrec_core.rl.swing import ensure_swing
    from conrec_core.shipped.sample_data import sample_workspace

    from conrec_core.experiment.workspace_copy import copy_with_codebooks

    source = args.workspace or sample_workspace("synthetic-shop")
    config = ExperimentSpec()
    sasrec = replace(config.sasrec, steps=args.steps) if args.steps else config.sasrec
    groups = training_groups(config.baselines)
    workers = side_by_side_workers(len(groups))
    print(f"{len(groups)} groups ({'; '.join(' + '.join(group) for group in groups)}), {os.cpu_count()} cores, "
          f"{torch.get_num_threads()} torch threads in this process, {workers} side by side; SASRec "
          f"{sasrec.steps} steps")
    seconds, fhr = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for label, run_workers in (("in turn", 1), ("side by side", workers)):
            workspace = copy_with_codebooks(source, Path(folder) / label.replace(" ", "-"))
            ensure_swing(workspace)
            jobs = [Job(" + ".join(group), evaluate_baselines,
                        (workspace, group, config.split, config.decoding.returns, sasrec)) for group in groups]
            started = time.perf_counter()
            run_side_by_side(jobs, run_workers)
            seconds[label] = time.perf_counter() - started
            fhr[label] = read_sample_metrics(workspace, config.split).groupby("method")["fhr"].mean()
            print(f"{label:<13} {seconds[label]:7.1f} s", flush=True)
    print(f"side by side / in turn: {seconds['side by side'] / seconds['in turn']:.2f} "
          f"(speed-up {seconds['in turn'] / seconds['side by side']:.2f}x); largest FHR@20 difference "
          f"{(fhr['side by side'] - fhr['in turn']).abs().max():.4f}")


if __name__ == "__main__":
    main()
