"""Settings of Swing item-item similarity on the negative graph (method §6)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..config import known_values


@dataclass(frozen=True)
class SwingConfig:
    activity_power: float = 0.3  # user weight w_u = |I_u|^-power: a user who dislikes everything says little
    alpha: float = 1.0  # smoothing in 1 / (alpha + |I_u ∩ I_v|): two users who share many dislikes count once
    min_common_users: int = 2  # an item pair needs this many users who disliked both (2 is the least Swing sees)
    top_k: int = 20  # neighbours stored per item; the default reward reads the top 10
    max_items_per_user: int = 300  # a user's most recent training negatives kept: bounds heavy users' pair work
    max_users_per_item: int = 300  # an item's most recent dislikers kept: user pairs grow with its square

    def __post_init__(self):
        if self.alpha < 0:
            raise ValueError("alpha must be >= 0")
        if self.min_common_users < 2:
            raise ValueError("min_common_users must be at least 2 (Swing sums over pairs of users)")
        if min(self.top_k, self.max_items_per_user, self.max_users_per_item) < 1:
            raise ValueError("top_k, max_items_per_user and max_users_per_item must be positive")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SwingConfig":
        return cls(**known_values(cls, data))
