"""Prediction throughput of a checkpoint, and where the time goes.

    python -m benchmarks.bench_predict --workspace WS --checkpoint NAME [--samples 400] [--split validation]
                                       [--score-users 2000 [--score-shards 2]]

Loads the checkpoint with the split's first N samples (as `predict` does), then times apart: the constrained
beam search alone (a stream model's `stream_beams` beams), the whole `rank` that `predict` runs (a stream model's
beams read with their then-token, the negative kind token, and re-ranked), and the same pools with the prior's
`prior_candidates` scored by teacher forcing beside the beams, as a ranking with a prior weight builds them. Prints
samples per second of each and its time against `rank`'s, measured in one run. With --score-users N, also `score`
(the dislike list for production) over the workspace's first N users: users per second, reading their logs and
writing the file included, and the hours a million users would take at that rate; with --score-shards S, the same
users again as S shards side by side (one process each, the cores split between them, as `score --shard I/S` runs
them) and the ratio to one process.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--split", default="validation")
    parser.add_argument("--score-users", type=int, default=0)
    parser.add_argument("--score-shards", type=int, default=1,
                        help="with --score-users: also score them as this many shards side by side, one process "
                             "each, the cores split between them")
    args = parser.parse_args()

    import torch

    from conrec_core.decoding.decoding_config import DecodingConfig
    from conrec_core.decoding.predict import load_run

    started = time.perf_counter()
    run = load_run(args.workspace, args.checkpoint, args.split)
    keep = slice(0, args.samples)
    run = replace(run, samples=run.samples[keep], prompts=run.prompts[keep], excluded=run.excluded[keep])
    loaded = time.perf_counter() - started
    config = DecodingConfig()
    count = len(run.samples)
    print(f"{args.checkpoint}: {count} {args.split} samples, {torch.get_num_threads()} torch threads, "
          f"stream model: {run.sft.stream_prompts}; loading {loaded:.1f} s")

    clock = time.perf_counter()
    trie = run.trie
    print(f"trie of {len(trie.item_paths):,} SIDs: {time.perf_counter() - clock:.1f} s, once per run (not in the rates below)")
    width = run.candidate_beams(config)
    clock = time.perf_counter()
    run.search(replace(config, beams=width, returns=width))
    search = time.perf_counter() - clock
    clock = time.perf_counter()
    run.rank(args.workspace, config)
    whole = time.perf_counter() - clock
    clock = time.perf_counter()
    run.pools(args.workspace, config)
    candidates = time.perf_counter() - clock
    for name, seconds in (("beam search", search), ("rank (predict's)", whole),
                          (f"+ {config.prior_candidates} prior candidates", candidates)):
        print(f"{name:<26}{seconds:>8.1f} s{count / seconds:>9.1f} samples/s{seconds / whole:>7.2f}x rank's time")
    if args.score_users:
        score_throughput(args.workspace, args.checkpoint, args.score_users, args.score_shards)


def score_throughput(workspace: Path, checkpoint: str, users: int, shards: int) -> None:
    import tempfile
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    import torch

    from conrec_core.data.workspace import open_workspace
    from conrec_core.decoding.score import score_users

    with open_workspace(workspace) as con:
        chosen = [u for (u,) in con.execute("SELECT DISTINCT user_id FROM events ORDER BY user_id LIMIT ?",
                                            [users]).fetchall()]
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        run = score_users(workspace, checkpoint, Path(folder) / "scores.parquet", users=chosen)
        whole = time.perf_counter() - clock
        rate = run.users / whole
        print(f"score {run.users:,} users: {whole:.1f} s with loading ({rate:.1f} users/s), {run.seconds:.1f} s "
              f"ranking and writing ({run.users_per_second:.1f} users/s); 1M users at that rate: "
              f"{1e6 / rate / 3600:.1f} h")
        if shards > 1:
            threads = max(1, torch.get_num_threads() // shards)
            clock = time.perf_counter()
            with ProcessPoolExecutor(shards, mp_context=get_context("spawn")) as pool:
                scored = sum(pool.map(score_shard, [(workspace, checkpoint, Path(folder) / f"shard-{i}.parquet",
                                                     chosen, (i, shards), threads) for i in range(shards)]))
            sharded = time.perf_counter() - clock
            print(f"score as {shards} shards side by side ({threads} thread(s) each): {scored:,} users in "
                  f"{sharded:.1f} s with starting and loading ({scored / sharded:.1f} users/s, "
                  f"{whole / sharded:.2f}x the one process); 1M users at that rate: "
                  f"{1e6 / (scored / sharded) / 3600:.1f} h")


def score_shard(job: tuple) -> int:
    """One shard of `score_throughput`'s users, in its own process: how many it scored."""
    import torch

    from conrec_core.decoding.score import score_users

    workspace, checkpoint, out, users, shard, threads = job
    torch.set_num_threads(threads)
    return score_users(workspace, checkpoint, out, users=users, shard=shard).users


if __name__ == "__main__":
    main()
