"""Settings of the EASE baseline (evaluation/ease.py); each searched on validation (docs/decisions.md#ease)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting


@dataclass(frozen=True)
class EASEConfig(Settings):
    l2: float = setting(3000.0, "L2 strength λ of the item-item weights", above=0)
    negative_weight: float = setting(2.0, "a negative event's weight in the user x item matrix and the context",
                                     low=0)
    positive_weight: float = setting(0.5, "a positive event's weight", low=0)
    neutral_weight: float = setting(1.0, "a neutral event's weight (a 3-star rating, an impression)", low=0)
    half_life_days: float | None = setting(30.0, "a context event's weight halves with every this many days "
                                                 "before the anchor (auto: no decay)", above=0)
    context_events: int = setting(20, "most recent events of the user that make a sample's context", low=1)
    dislike_power: float = setting(0.5, "exponent of each item's dislike rate (negatives + 1) / (interactions + 2) "
                                        "that multiplies its score (0: who meets what, whatever they make of it)",
                                   low=0)
    max_items: int = setting(20_000, "items EASE covers, the most met in the training part first: its weights are "
                                     "a dense max_items² matrix", low=2)
