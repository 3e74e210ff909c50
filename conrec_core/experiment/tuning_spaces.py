"""What the tuning protocol (experiment/tuning.py) searches for each method: the values each setting may take.
Apart from the search so the command line lists the methods without loading numpy."""

from __future__ import annotations

from dataclasses import dataclass

from ..evaluation.baseline_settings import BaselineSettings, NeighbourConfig
from ..evaluation.ease_config import EASEConfig
from ..evaluation.sasrec_config import SASRecConfig


@dataclass(frozen=True)
class SearchSpace:
    config: type  # the Settings class searched; the settings in use are always the first trial
    values: dict[str, tuple]  # field -> the values a trial draws from
    field: str  # the BaselineSettings field the settings go to

    @property
    def defaults(self):
        """The settings in use before a search: the first trial of every search."""
        return getattr(BaselineSettings(), self.field) or self.config()


SEARCH_SPACES = {
    "ease": SearchSpace(EASEConfig, {
        "l2": (50.0, 200.0, 500.0, 1000.0, 3000.0), "negative_weight": (1.0, 2.0),
        "positive_weight": (0.5, 1.0), "neutral_weight": (0.0, 0.5, 1.0), "half_life_days": (None, 30.0, 365.0),
        "context_events": (10, 20, 50, 200), "dislike_power": (0.0, 0.5, 1.0, 2.0)}, "ease"),
    **{method: SearchSpace(NeighbourConfig, {
        "history": (5, 10, 20, 50, 100), "half_life_days": (None, 7.0, 30.0, 365.0),
        "neighbours": (0, 10, 20, 50, 100)}, method) for method in ("item_cf", "item_knn", "swing_cf")},
    **{method: SearchSpace(SASRecConfig, {
        "hidden_size": (32, 64, 128), "layers": (1, 2, 3), "dropout": (0.1, 0.2, 0.3, 0.5),
        context: (20, 50, 100, 200) if context == "max_length" else (50, 100, 200, 400),
        "learning_rate": (1e-3, 3e-3), "weight_decay": (0.0, 0.01)}, method)
       for method, context in (("sasrec_negatives", "max_length"), ("sasrec_both", "positives_context"))},
}
# method -> the settings its search varies (what the command line prints of each trial)
SEARCH_SPACE_NAMES = {method: tuple(space.values) for method, space in SEARCH_SPACES.items()}
