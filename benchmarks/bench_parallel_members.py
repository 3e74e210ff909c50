"""Two SID members (SFT, then GRPO) trained in turn in one process against side by side, a process each.

    python -m benchmarks.bench_parallel_members [--workspace WS] [--sft-steps 1000] [--grpo-steps 10]

Both runs train the same two chains (the pipeline's default SFT and GRPO settings, shortened, each member
seeded as the pipeline seeds it) on copies of the workspace, in turn first, then side by side with the CPU cores
shared (`evaluation/member_pool.py`). Prints each run's wall time and their ratio. Default workspace: the
synthetic sample, with the codebook shipped beside it. Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--sft-steps", type=int, default=1000)
    parser.add_argument("--grpo-steps", type=int, default=10, help="GRPO steps per stage")
    args = parser.parse_args()

    import torch

    from conrec_core.data.workspace import artifacts_dir
    from conrec_core.evaluation.member_pool import side_by_side_workers, train_members
    from conrec_core.evaluation.pipeline import MethodNames, member_chains
    from conrec_core.evaluation.pipeline_config import PipelineConfig
    from conrec_core.shipped.sample_data import sample_workspace

    source = args.workspace or sample_workspace("synthetic-shop")
    config = PipelineConfig()
    config = replace(config, sft=replace(config.sft, steps=args.sft_steps, eval_every=args.sft_steps,
                                         checkpoint_every=args.sft_steps),
                     grpo=replace(config.grpo, steps_per_stage=args.grpo_steps, eval_every=args.grpo_steps))
    names = MethodNames(config.seed, config.codebook_name, config.members)
    chains = member_chains(config, names)
    workers = side_by_side_workers(len(chains))
    print(f"{len(chains)} members, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads in this process, "
          f"{workers} side by side; SFT {args.sft_steps} steps, GRPO {args.grpo_steps} steps a stage")
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, run_workers in (("in turn", 1), ("side by side", workers)):
            workspace = Path(folder) / label.replace(" ", "-") / Path(source).name
            workspace.parent.mkdir()
            shutil.copy(source, workspace)
            shutil.copytree(artifacts_dir(source) / "codebooks", artifacts_dir(workspace) / "codebooks")
            started = time.perf_counter()
            train_members(workspace, chains, names.codebook, run_workers)
            seconds[label] = time.perf_counter() - started
            print(f"{label:<13} {seconds[label]:7.1f} s", flush=True)
    print(f"side by side / in turn: {seconds['side by side'] / seconds['in turn']:.2f} "
          f"(speed-up {seconds['in turn'] / seconds['side by side']:.2f}x)")


if __name__ == "__main__":
    main()
