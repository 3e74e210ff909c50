"""Settings of the synthetic e-commerce world (sample dataset 1)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    users: int = 1000
    items: int = 3000
    shops: int = 150
    days: int = 42  # six weeks: every split still has a full 7-day future window
    start: str = "2026-03-02"  # first day (UTC)
    impressions_per_session: int = 15  # one feed page
    mean_daily_activity: float = 0.4  # mean chance a user opens the app on a day (Beta-distributed per user)
    image_dim: int = 32  # simulated image-feature vector: category, colour, style and material plus noise
    disliked_categories: tuple[int, int] = (1, 2)  # range of categories in each user's latent dislike profile
    disliked_attributes: tuple[int, int] = (1, 3)  # range of colours / styles / materials disliked
    noise_negative_rate: float = 0.004  # "not interested" pressed on an item the user does not dislike
    non_interest_rate: float = 0.004  # "not interested" for a reason that is no taste (already bought, ...)
    purchase_given_click: float = 0.12
    off_putting_share: float = 0.1  # items most shoppers dislike whatever their taste (a cheap look, poor
    # photos): the item-level signal the alignment task learns; real logs have it (MovieLens: widely panned films)
    off_putting_weight: tuple[float, float] = (0.4, 0.9)  # how strongly such an item puts people off

    def __post_init__(self):
        if min(self.users, self.items, self.shops, self.days, self.impressions_per_session) < 1:
            raise ValueError("users, items, shops, days and impressions_per_session must be positive")
        if self.impressions_per_session > self.items:
            raise ValueError("impressions_per_session cannot exceed the number of items")
        if not 0 <= self.off_putting_share <= 1:
            raise ValueError("off_putting_share must be between 0 and 1")
        if not 0 < self.mean_daily_activity < 1:
            raise ValueError("mean_daily_activity must be between 0 and 1")
