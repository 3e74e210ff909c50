"""SID members (SFT, then GRPO) trained in turn in one process against side by side, a process each.

    python -m benchmarks.bench_parallel_members [--workspace WS] [--members N] [--sft-steps 1000] [--grpo-steps 10]

Every run trains the same chains (the pipeline's default SFT and GRPO settings, shortened, each member seeded as
the pipeline seeds it; N: the pipeline's default number of members) on copies of the workspace: in turn first,
then side by side as the pipeline runs them (`experiment/members.py`), and, where the members outnumber the
cores, also in rounds of one process per core. Prints each run's wall time and the ratios. Default workspace:
the synthetic sample, with the codebook shipped beside it. Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--members", type=int, help="members trained (default: the pipeline's)")
    parser.add_argument("--sft-steps", type=int, default=1000)
    parser.add_argument("--grpo-steps", type=int, default=10, help="GRPO steps per stage")
    args = parser.parse_args()

    import torch

    from conrec_core.experiment.members import train_members
    from conrec_core.experiment.side_by_side import side_by_side_workers
    from conrec_core.experiment.members import member_chains
    from conrec_core.experiment.names import MethodNames
    from conrec_core.experiment.spec import ExperimentSpec, quick_spec
    from conrec_core.shipped.sample_data import sample_workspace

    from conrec_core.experiment.workspace_copy import copy_with_codebooks

    source = args.workspace or sample_workspace("synthetic-shop")
    config = ExperimentSpec(members=args.members) if args.members else ExperimentSpec()
    config = replace(config, sft=replace(config.sft, steps=args.sft_steps, eval_every=args.sft_steps,
                                         checkpoint_every=args.sft_steps),
                     grpo=replace(config.grpo, steps_per_stage=args.grpo_steps, eval_every=args.grpo_steps))
    names = MethodNames(config.seed, config.codebook_name, config.members)
    chains = member_chains(config, names)
    workers = side_by_side_workers(len(chains))
    cores = os.cpu_count() or 1
    runs = [("in turn", 1), ("side by side", workers)]
    if workers > cores > 1:
        runs.append(("in rounds", cores))
    print(f"{len(chains)} members, {cores} cores, {torch.get_num_threads()} torch threads in this process, "
          f"{workers} side by side; SFT {args.sft_steps} steps, GRPO {args.grpo_steps} steps a stage")
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, run_workers in runs:
            workspace = copy_with_codebooks(source, Path(folder) / label.replace(" ", "-"))
            started = time.perf_counter()
            train_members(workspace, chains, names.codebook, run_workers)
            seconds[label] = time.perf_counter() - started
            print(f"{label:<13} {seconds[label]:7.1f} s", flush=True)
    for label in seconds:
        if label != "side by side":
            print(f"side by side / {label}: {seconds['side by side'] / seconds[label]:.2f} "
                  f"(speed-up {seconds[label] / seconds['side by side']:.2f}x)")


if __name__ == "__main__":
    main()
