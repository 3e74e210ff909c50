"""Constrained beam search: our batched trie search against transformers' `prefix_allowed_tokens_fn`.

    python -m benchmarks.bench_decoding [--workspace WS] [--checkpoint NAME] [--prompts 64] [--batch-size 16]

Both run the same model and the same beam search rule (20 beams, 20 returned). Ours walks the trie itself with
many prompts side by side (decoding/batched_search.py); the reference runs `generate`, walking a Python dict trie
for every beam at every step, as the usual recipe does. Prints the throughput of each, the ratio, and whether the top-20 lists agree.
Without --checkpoint a freshly initialised tiny model is used (masking cost does not depend on training).
Default workspace: the synthetic sample (its codebook is trained first if missing).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tests.decoding_reference import reference_decode  # noqa: E402 (the offline switches first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--checkpoint")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    import torch

    from conrec_core.lm.backbones import new_backbone
    from conrec_core.semantic_ids.codebook import build_codebook
    from conrec_core.semantic_ids.store import list_codebooks, load_codebook
    from conrec_core.decoding.search import DecodingConfig, decode
    from conrec_core.lm.checkpoints import checkpoint_dir, load_checkpoint
    from conrec_core.lm.config import BackboneConfig, SFTConfig
    from conrec_core.data.samples import read_samples
    from conrec_core.decoding.item_trie import item_trie, sid_token_sequences
    from conrec_core.lm.prompts import next_negative_prompt
    from conrec_core.shipped.sample_data import sample_workspace
    from conrec_core.lm.vocab import sid_tokens

    torch.set_num_threads(max(1, torch.get_num_threads()))
    workspace = args.workspace or sample_workspace("synthetic-shop")
    if not list_codebooks(workspace):
        build_codebook(workspace, compute_map=False)
    codebook = load_codebook(workspace)
    if args.checkpoint:
        backbone, _ = load_checkpoint(checkpoint_dir(workspace, args.checkpoint), codebook=codebook)
    else:
        backbone = new_backbone(BackboneConfig(), sid_tokens(codebook.sids, codebook.config.codebook_size),
                                ["warm up the tokenizer"])
    model, tokenizer = backbone.model.eval(), backbone.tokenizer
    samples = read_samples(workspace, "test", None).head(args.prompts)
    prompts = [next_negative_prompt(codebook, list(n), SFTConfig()) for n in samples["context_negatives"]]
    config = DecodingConfig(batch_size=args.batch_size, exclude_seen=False)
    trie, token_rows = item_trie(codebook, tokenizer, len(tokenizer))
    sequences = sid_token_sequences(codebook, tokenizer)
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]

    decode(model, tokenizer, trie, prompts[:args.batch_size], config)  # warm-up
    started = time.perf_counter()
    ours = decode(model, tokenizer, trie, prompts, config)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    theirs = reference_decode(model, tokenizer, sequences, token_rows, prompts, config, trie.max_depth)
    theirs_seconds = time.perf_counter() - started

    same = sum(o.rows == t for o, t in zip(ours, theirs))
    print(f"catalogue {len(sequences):,} items, {len(prompts)} prompts of {min(lengths)}-{max(lengths)} tokens, "
          f"batch {args.batch_size}, 20 beams -> 20 SIDs, model {'checkpoint ' + args.checkpoint if args.checkpoint else 'fresh tiny'}")
    print(f"batched trie search        {ours_seconds:7.2f} s  {len(prompts) / ours_seconds:7.1f} prompts/s  "
          f"invalid {sum(o.invalid for o in ours)}")
    print(f"prefix_allowed_tokens_fn   {theirs_seconds:7.2f} s  {len(prompts) / theirs_seconds:7.1f} prompts/s  "
          f"invalid {sum(-1 in t for t in theirs)}")
    print(f"speed-up {theirs_seconds / ours_seconds:.2f}x; identical top-20 lists: {same}/{len(prompts)}")


if __name__ == "__main__":
    main()
