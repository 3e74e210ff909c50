"""One SFT training step (forward, backward, AdamW): packed batches with target-only logits against padded ones.

    python -m benchmarks.bench_sft_step [--workspace WS] [--codebook NAME] [--steps 30]

The same model, the same batches (SFT's default task mix, `batch_for_step` of steps 0..N-1), alternating the two
paths step by step so both see the same load. Prints the median step time of each, the ratio, the tokens each
path runs through the decoder, and the largest difference between their per-example losses on the first
batch (dropout off). Default workspace: the synthetic sample (its codebook is trained first if missing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--codebook", default="default")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()

    import torch

    from conrec_core.lm.backbones import new_backbone
    from conrec_core.lm.config import BackboneConfig, SFTConfig
    from conrec_core.lm.prompts import read_task_data, template_texts, training_examples
    from conrec_core.lm.sft import batch_for_step, encode
    from conrec_core.lm.token_loss import example_losses, pack, padded
    from conrec_core.lm.vocab import sid_tokens
    from conrec_core.semantic_ids.codebook import build_codebook
    from conrec_core.semantic_ids.store import list_codebooks, load_codebook
    from conrec_core.shipped.sample_data import sample_workspace

    workspace = args.workspace or sample_workspace("synthetic-shop")
    if not list_codebooks(workspace):
        build_codebook(workspace, compute_map=False)
    codebook = load_codebook(workspace, args.codebook)
    config, backbone_config = SFTConfig(), BackboneConfig()
    data = read_task_data(workspace, codebook)
    backbone = new_backbone(backbone_config, sid_tokens(codebook.sids, codebook.config.codebook_size),
                            list(data.titles.values()) + template_texts() * 20, torch.device("cpu"))
    model, pad = backbone.model, backbone.tokenizer.pad_token_id
    encoded = {task: encode(backbone.tokenizer, items, backbone_config.max_positions)
               for task, items in training_examples(data, codebook, config).items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cpu = torch.device("cpu")

    first = batch_for_step(encoded, config, 0)
    model.eval()
    with torch.no_grad():
        fast, _ = example_losses(model, first, pad, cpu, packed=True)
        plain, _ = example_losses(model, first, pad, cpu, packed=False)
    model.train()

    def step(batch, packed: bool) -> float:
        started = time.perf_counter()
        summed, tokens = example_losses(model, batch, pad, cpu, packed)
        optimizer.zero_grad(set_to_none=True)
        (summed.sum() / tokens.sum()).backward()
        optimizer.step()
        return time.perf_counter() - started

    times = {True: [], False: []}
    tokens = {True: 0, False: 0}
    for number in range(args.steps + 2):
        batch = batch_for_step(encoded, config, number)
        for packed in (True, False) if number % 2 else (False, True):
            seconds = step(batch, packed)
            if number >= 2:  # the first two warm the allocator up
                times[packed].append(seconds)
                tokens[packed] += (pack(batch, pad, cpu) if packed else padded(batch, pad, cpu))["input_ids"].numel()
    packed_ms, padded_ms = (statistics.median(times[p]) * 1000 for p in (True, False))
    print(f"workspace {workspace}, codebook {args.codebook!r}, tiny model "
          f"({sum(p.numel() for p in model.parameters()):,} parameters), batch {config.batch_size}, "
          f"{args.steps} steps each, {torch.get_num_threads()} threads")
    print(f"padded, every position's logits   {padded_ms:7.1f} ms/step  {tokens[False] / args.steps:7.0f} tokens/step")
    print(f"packed, target logits only        {packed_ms:7.1f} ms/step  {tokens[True] / args.steps:7.0f} tokens/step")
    print(f"speed-up {padded_ms / packed_ms:.2f}x; largest per-example loss difference on step 0: "
          f"{(fast - plain).abs().max().item():.2e} (of losses up to {plain.max().item():.1f})")


if __name__ == "__main__":
    main()
