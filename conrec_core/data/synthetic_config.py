"""Settings of the synthetic e-commerce world (sample dataset 1)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting
from ..errors import ConfigError

# The files `write_world` writes into its folder.
EVENTS_FILE, ITEMS_FILE, DISLIKES_FILE, MAPPING_FILE = ("events.parquet", "items.parquet", "true_dislikes.csv",
                                                        "mapping.json")


@dataclass(frozen=True)
class WorldConfig(Settings):
    seed: int = setting(7, "random seed of the world")
    users: int = setting(1000, "shoppers", low=1)
    items: int = setting(3000, "items in the catalogue", low=1)
    shops: int = setting(150, "shops selling them", low=1)
    days: int = setting(42, "days of activity: six weeks leave every split a full 7-day future window", low=1)
    start: str = setting("2026-03-02", "first day (UTC)", cli=False)
    impressions_per_session: int = setting(15, "items on one feed page", low=1, cli=False)
    mean_daily_activity: float = setting(0.4, "mean chance a user opens the app on a day (Beta-distributed per "
                                              "user)", above=0, below=1, cli=False)
    image_dim: int = setting(32, "simulated image vector: category, colour, style and material plus noise", low=1,
                             cli=False)
    disliked_categories: tuple[int, int] = setting((1, 2), "range of categories in each user's latent dislike "
                                                           "profile", low=0, cli=False)
    disliked_attributes: tuple[int, int] = setting((1, 3), "range of colours / styles / materials disliked",
                                                   low=0, cli=False)
    noise_negative_rate: float = setting(0.004, "'not interested' pressed on an item the user does not dislike",
                                         low=0, high=1, cli=False)
    non_interest_rate: float = setting(0.004, "'not interested' for a reason that is no taste (already bought, "
                                              "...)", low=0, high=1, cli=False)
    purchase_given_click: float = setting(0.12, "chance a click becomes a purchase", low=0, high=1, cli=False)
    off_putting_share: float = setting(0.1, "items most shoppers dislike whatever their taste (a cheap look, poor "
                                            "photos): the item-level signal real logs have too (MovieLens: widely "
                                            "panned films)", low=0, high=1, cli=False)
    off_putting_weight: tuple[float, float] = setting((0.4, 0.9), "how strongly such an item puts people off",
                                                      low=0, cli=False)

    def __post_init__(self):
        super().__post_init__()
        if self.impressions_per_session > self.items:
            raise ConfigError("impressions_per_session cannot exceed the number of items")
