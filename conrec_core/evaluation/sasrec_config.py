"""Settings of the SASRec baselines: a small causal Transformer over each user's feedback sequence."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SASRecConfig:
    with_positives: bool = False  # False: negatives only; True: negatives and positives, marked by kind
    hidden_size: int = 64
    layers: int = 2  # the plain 2-layer SASRec of method §9
    heads: int = 2
    dropout: float = 0.2
    max_length: int = 50  # most recent events the model reads (the samples' context limit)
    steps: int = 500
    batch_size: int = 64  # sequence windows per step
    learning_rate: float = 3e-3
    weight_decay: float = 0.0
    eval_every: int = 100  # validation FHR@20; the best state is kept (early stopping)
    eval_samples: int = 500  # validation samples scored at each check
    seed: int = 0

    def __post_init__(self):
        if min(self.hidden_size, self.layers, self.heads, self.max_length, self.steps, self.batch_size,
               self.eval_every) < 1:
            raise ValueError("SASRec sizes, steps and batch size must be positive")
        if self.hidden_size % self.heads:
            raise ValueError("hidden_size must be a multiple of heads")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must be in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)
