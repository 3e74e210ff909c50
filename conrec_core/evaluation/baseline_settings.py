"""Settings of the baselines, in one record the pipeline, `evaluate` and the tuning protocol pass down. The SASRec
variants' own settings are here only once `tune` chose them for a workspace; until then they train with the run's
`SASRecConfig`, and they always take the run's seed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import Settings, setting
from .ease_config import EASEConfig
from .sasrec_config import SASRecConfig


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
    sasrec_negatives: SASRecConfig | None = setting(None, "SASRec on negatives, also the model of SASRec with the "
                                                          "prior (auto: the run's SASRec settings)")
    sasrec_both: SASRecConfig | None = setting(None, "SASRec on negatives + positives (auto: the run's SASRec "
                                                     "settings)")

    def sasrec_for(self, with_positives: bool, run: SASRecConfig) -> SASRecConfig:
        """The settings a SASRec variant trains with: its own where `tune` chose them, else the run's; the run's
        seed either way."""
        own = self.sasrec_both if with_positives else self.sasrec_negatives
        return replace(own, seed=run.seed) if own is not None else run
