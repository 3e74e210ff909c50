"""Exact SID scoring against beam search: FHR@K, HR@K and seconds on one split, measured in one run.

    python -m benchmarks.bench_exact_search WORKSPACE CHECKPOINT [--split validation] [--k 20] [--limit N]

Prints one row per search (beam 20, beam 50, exact) with the time ratio to beam 20, and how many of the
exact top K each beam misses.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from conrec_core.data.samples import as_samples, read_samples, seen_items
from conrec_core.lm.checkpoints import checkpoint_dir, load_checkpoint, read_training
from conrec_core.lm.config import SFTConfig
from conrec_core.decoding.decoding_config import DecodingConfig
from conrec_core.decoding.exhaustive import top_sids
from conrec_core.decoding.item_trie import item_trie, seen_rows
from conrec_core.lm.prompts import stage_prompt
from conrec_core.metrics import future_hit_rate, hit_rate
from conrec_core.semantic_ids.store import load_codebook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace")
    parser.add_argument("checkpoint")
    parser.add_argument("--split", default="validation")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    folder = checkpoint_dir(args.workspace, args.checkpoint)
    training = read_training(folder)
    codebook = load_codebook(args.workspace, training.get("codebook", "default"))
    backbone, training = load_checkpoint(folder, codebook=codebook)
    vocab = max(len(backbone.tokenizer), backbone.model.get_output_embeddings().weight.shape[0])
    trie, token_rows = item_trie(codebook, backbone.tokenizer, vocab)
    samples = as_samples(read_samples(args.workspace, args.split))[:args.limit]
    sft = SFTConfig.from_dict(training.get("sft", {}))
    prompts = [stage_prompt(codebook, training.get("prompt", "negatives"), s, sft,
                            training.get("grpo", {}).get("positive_items")) for s in samples]
    seen = seen_items(args.workspace, [s.sample_id for s in samples])
    excluded = [seen_rows(codebook, seen[s.sample_id]) for s in samples]
    searches = {"beam 20": DecodingConfig(beams=20, returns=args.k),
                "beam 50": DecodingConfig(beams=max(50, args.k), returns=args.k),
                "exact": DecodingConfig(search="exact", beams=args.k, returns=args.k)}
    found, seconds = {}, {}
    for name, config in searches.items():
        clock = time.perf_counter()
        found[name] = top_sids(backbone.model, backbone.tokenizer, trie, prompts, config, excluded,
                               free_end=sft.prefix_prompts)
        seconds[name] = time.perf_counter() - clock
    print(f"{len(samples)} {args.split} samples, K = {args.k}")
    print(f"{'search':<8} {'FHR@K':>7} {'HR@K':>7} {'seconds':>8} {'x beam 20':>9} {'missed of exact':>15}")
    for name, decoded in found.items():
        ranked = [[codebook.sids.item_ids[r] for r in d.rows] for d in decoded]
        fhr = np.mean([future_hit_rate(r, list(s.future_negatives), args.k) for r, s in zip(ranked, samples)])
        hr = np.mean([hit_rate(r, s.next_negative, args.k) for r, s in zip(ranked, samples)])
        missed = np.mean([len(set(e.rows) - set(d.rows)) for e, d in zip(found["exact"], decoded)])
        print(f"{name:<8} {fhr:7.4f} {hr:7.4f} {seconds[name]:8.1f} {seconds[name] / seconds['beam 20']:9.2f} "
              f"{missed:15.2f}")


if __name__ == "__main__":
    main()
