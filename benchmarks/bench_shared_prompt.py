"""Beam search and GRPO sampling with each prompt run once (`shared_prompt_cache`) against `generate`'s own
prefill, which runs every prompt once per beam or sampled sequence.

    python -m benchmarks.bench_shared_prompt [--workspace WS] [--checkpoint NAME] [--prompts 256] [--split test]

Both paths decode the same prompts with the same model, alternately, three times each; prints the median time of
each, the ratio, and whether the rankings (beam search: rows and scores; sampling: the sampled tokens under one
seed) are identical. Default: the synthetic sample's workspace and its first checkpoint.
"""

from __future__ import annotations

import os
import statistics
import time

from .checkpoint_choice import checkpoint_parser, workspace_and_checkpoint

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = checkpoint_parser(__doc__)
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    import torch

    from conrec_core.decoding import search as decoding
    from conrec_core.decoding.decoding_config import DecodingConfig
    from conrec_core.decoding.item_trie import item_trie
    from conrec_core.decoding.predict import load_run

    workspace, checkpoint = workspace_and_checkpoint(args)
    run = load_run(workspace, checkpoint, args.split)
    prompts, excluded = run.prompts[:args.prompts], run.excluded[:args.prompts]
    model, tokenizer = run.backbone.model, run.backbone.tokenizer
    vocab = max(len(tokenizer), model.get_output_embeddings().weight.shape[0])
    trie, token_rows = item_trie(run.codebook, tokenizer, vocab)
    config = DecodingConfig()
    shared = decoding.shared_prompt_cache

    def beams():
        return decoding.decode(model, tokenizer, trie, token_rows, prompts, config, excluded,
                               free_end=run.sft.prefix_prompts)

    def samples():
        torch.manual_seed(0)
        return [decoding.sample_completions(model, tokenizer, trie, prompts[i:i + 16], excluded[i:i + 16],
                                            8).completions for i in range(0, len(prompts), 16)]

    results, times = {}, {}
    for task, action in (("beam search", beams), ("sampling", samples)):
        for repeat in range(3):
            for path in ("own", "shared") if repeat % 2 else ("shared", "own"):
                decoding.shared_prompt_cache = shared if path == "shared" else (lambda *a: None)
                started = time.perf_counter()
                results[task, path] = action()
                times.setdefault((task, path), []).append(time.perf_counter() - started)
        decoding.shared_prompt_cache = shared
    same_beams = all(a.rows == b.rows and a.scores == b.scores
                     for a, b in zip(results["beam search", "shared"], results["beam search", "own"]))
    same_samples = all(torch.equal(a, b) for a, b in zip(results["sampling", "shared"], results["sampling", "own"]))
    print(f"workspace {workspace}, checkpoint {checkpoint!r}, {len(prompts)} {args.split} prompts, "
          f"{config.beams} beams / 8 samples per prompt, {torch.get_num_threads()} threads")
    for task, same in (("beam search", same_beams), ("sampling", same_samples)):
        own, fast = (statistics.median(times[task, path]) for path in ("own", "shared"))
        print(f"{task:12s} generate's prefill {own:6.2f} s, shared prompt cache {fast:6.2f} s: "
              f"speed-up {own / fast:.2f}x; identical: {same}")


if __name__ == "__main__":
    main()
