"""GRPO's sampling with each prompt run once (`shared_prompt_cache`) against `generate`'s own prefill, which runs
every prompt once per sampled sequence (beam search runs each prompt once by construction: decoding/batched_search).

    python -m benchmarks.bench_shared_prompt [--workspace WS] [--checkpoint NAME] [--prompts 256] [--split test]

Both paths sample the same prompts with the same model, alternately, three times each; prints the median time of
each, the ratio, and whether the sampled tokens under one seed are identical. Default: the synthetic sample's workspace and its first checkpoint.
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
    from conrec_core.decoding.item_trie import item_trie
    from conrec_core.decoding.predict import load_run

    workspace, checkpoint = workspace_and_checkpoint(args)
    run = load_run(workspace, checkpoint, args.split)
    prompts, excluded = run.prompts[:args.prompts], run.excluded[:args.prompts]
    model, tokenizer = run.backbone.model, run.backbone.tokenizer
    vocab = max(len(tokenizer), model.get_output_embeddings().weight.shape[0])
    trie, token_rows = item_trie(run.codebook, tokenizer, vocab)
    shared = decoding.shared_prompt_cache

    def samples():
        torch.manual_seed(0)
        return [decoding.sample_completions(model, tokenizer, trie, prompts[i:i + 16], excluded[i:i + 16],
                                            8).completions for i in range(0, len(prompts), 16)]

    results, times = {}, {}
    for task, action in (("sampling", samples),):
        for repeat in range(3):
            for path in ("own", "shared") if repeat % 2 else ("shared", "own"):
                decoding.shared_prompt_cache = shared if path == "shared" else (lambda *a: None)
                started = time.perf_counter()
                results[task, path] = action()
                times.setdefault((task, path), []).append(time.perf_counter() - started)
        decoding.shared_prompt_cache = shared
    same_samples = all(torch.equal(a, b) for a, b in zip(results["sampling", "shared"], results["sampling", "own"]))
    print(f"workspace {workspace}, checkpoint {checkpoint!r}, {len(prompts)} {args.split} prompts, "
          f"8 samples per prompt, {torch.get_num_threads()} threads")
    for task, same in (("sampling", same_samples),):
        own, fast = (statistics.median(times[task, path]) for path in ("own", "shared"))
        print(f"{task:12s} generate's prefill {own:6.2f} s, shared prompt cache {fast:6.2f} s: "
              f"speed-up {own / fast:.2f}x; identical: {same}")


if __name__ == "__main__":
    main()
