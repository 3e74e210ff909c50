"""Settings of the SASRec baselines: a small causal Transformer over each user's feedback sequence."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting
from ..errors import ConfigError


@dataclass(frozen=True)
class SASRecConfig(Settings):
    # Searched on validation (docs/decisions.md#sasrec).
    with_positives: bool = setting(False, "False: negatives only; True: negatives and positives, marked by kind",
                                   cli=False)
    hidden_size: int = setting(64, "embedding and hidden width", low=1)
    layers: int = setting(2, "Transformer blocks (the plain 2-layer SASRec of method §9)", low=1)
    heads: int = setting(2, "attention heads; must divide hidden_size", low=1)
    dropout: float = setting(0.2, "dropout on embeddings and blocks", low=0, below=1)
    max_length: int = setting(50, "most recent events the model reads (the samples' context limit)", low=1)
    positives_context: int = setting(200, "with positives: most recent events the model reads, negatives and "
                                          "positives together (they outnumber the negatives)", low=1)
    steps: int = setting(20_000, "the most training steps: training stops earlier once validation FHR@20 stops "
                                 "improving (patience), so the budget follows the log", low=1)
    batch_size: int = setting(64, "sequence windows per step", low=1)
    learning_rate: float = setting(3e-3, "Adam learning rate", above=0)
    weight_decay: float = setting(0.0, "AdamW weight decay", low=0)
    eval_every: int = setting(100, "steps between validation FHR@20 checks; the best state is kept (early "
                                   "stopping)", low=1)
    eval_samples: int = setting(500, "validation samples scored at each check", low=1)
    patience: int = setting(5, "checks without a better validation FHR@20 before training stops (0: train every "
                               "step)", low=0)
    seed: int = setting(0, "random seed")

    def __post_init__(self):
        super().__post_init__()
        if self.hidden_size % self.heads:
            raise ConfigError(f"hidden_size ({self.hidden_size}) must be a multiple of heads ({self.heads})")
