"""Settings of the untrained baselines, in one record the pipeline, `evaluate` and the tuning protocol pass down
(SASRec's, trained and seeded, stay apart in `SASRecConfig`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting
from .ease_config import EASEConfig


@dataclass(frozen=True)
class NeighbourConfig(Settings):
    """How an item-neighbour baseline (cosine item-CF, item-KNN, Swing item-CF) sums over a user's history."""
    history: int = setting(20, "the user's most recent events whose neighbours are summed (item-CF and Swing: "
                                "negatives)", low=1)
    half_life_days: float | None = setting(None, "a history event's weight halves with every this many days "
                                                 "before the anchor (auto: no decay)", above=0)
    neighbours: int = setting(0, "the most similar neighbours of each history item that count (0: all)", low=0)


@dataclass(frozen=True)
class BaselineSettings(Settings):
    ease: EASEConfig = setting(None, "the EASE baseline", default_factory=EASEConfig)
    # each chosen by `tune` on validation (docs/decisions.md#item-cf)
    item_cf: NeighbourConfig = setting(None, "cosine item-CF on negatives",
                                       default_factory=lambda: NeighbourConfig(history=100))
    item_knn: NeighbourConfig = setting(None, "cosine item-KNN over every kind of event",
                                        default_factory=lambda: NeighbourConfig(history=10, half_life_days=7.0))
    swing_cf: NeighbourConfig = setting(None, "Swing item-CF on negatives", default_factory=lambda: NeighbourConfig(
        history=10, half_life_days=365.0, neighbours=20))
