"""One SFT training step (forward, backward, AdamW): packed batches with target-only logits against padded ones,
and packed rows of today's width (`PACK_WIDTH`) against wider ones.

    python -m benchmarks.bench_sft_step [--workspace WS] [--codebook NAME] [--steps 30] [--old-width 256]

The same model, the same batches (SFT's default task mix, `batch_for_step` of steps 0..N-1), the paths taking
turns step by step so all see the same load. Prints the median step time of each, the ratios, the tokens each
path runs through the decoder, and the largest difference between the packed and padded per-example losses on
the first batch (dropout off). Default workspace: the synthetic sample (its codebook is trained first if missing).
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
    parser.add_argument("--old-width", type=int, default=256, help="packed row width to compare with")
    args = parser.parse_args()

    import torch

    from conrec_core.lm.backbones import new_backbone
    from conrec_core.lm.config import BackboneConfig, SFTConfig
    from conrec_core.lm.prompts import read_task_data, template_texts, training_examples
    from conrec_core.training.sft_batches import batch_for_step, encode
    from conrec_core.lm.token_loss import PACK_WIDTH, example_losses, pack, packed_losses, padded, padded_losses
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

    paths = {  # name -> (per-example losses of a batch, the tensor the decoder runs through)
        "padded, every position's logits": (lambda b: padded_losses(model, padded(b, pad, cpu), len(b)),
                                            lambda b: padded(b, pad, cpu)),
        f"packed in rows of {args.old_width}": (
            lambda b: packed_losses(model, pack(b, pad, cpu, args.old_width), len(b)),
            lambda b: pack(b, pad, cpu, args.old_width)),
        f"packed in rows of {PACK_WIDTH}": (lambda b: packed_losses(model, pack(b, pad, cpu), len(b)),
                                            lambda b: pack(b, pad, cpu)),
    }

    def step(batch, losses) -> float:
        started = time.perf_counter()
        summed, tokens = losses(batch)
        optimizer.zero_grad(set_to_none=True)
        (summed.sum() / tokens.sum()).backward()
        optimizer.step()
        return time.perf_counter() - started

    names = list(paths)
    times = {name: [] for name in names}
    tokens = {name: 0 for name in names}
    for number in range(args.steps + 2):
        batch = batch_for_step(encoded, config, number)
        for name in names[number % len(names):] + names[:number % len(names)]:  # each path first in turn
            seconds = step(batch, paths[name][0])
            if number >= 2:  # the first two warm the allocator up
                times[name].append(seconds)
                tokens[name] += paths[name][1](batch)["input_ids"].numel()
    ms = {name: statistics.median(times[name]) * 1000 for name in names}
    print(f"workspace {workspace}, codebook {args.codebook!r}, tiny model "
          f"({sum(p.numel() for p in model.parameters()):,} parameters), batch {config.batch_size}, "
          f"{args.steps} steps each, {torch.get_num_threads()} threads")
    for name in names:
        print(f"{name:<36} {ms[name]:7.1f} ms/step  {tokens[name] / args.steps:7.0f} tokens/step")
    padded_ms, old_ms, packed_ms = (ms[name] for name in names)
    print(f"speed-up of packing (rows of {PACK_WIDTH}) over padding {padded_ms / packed_ms:.2f}x, over rows of "
          f"{args.old_width} {old_ms / packed_ms:.2f}x; largest per-example loss difference on step 0: "
          f"{(fast - plain).abs().max().item():.2e} (of losses up to {plain.max().item():.1f})")


if __name__ == "__main__":
    main()
