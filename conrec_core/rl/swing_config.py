"""Settings of Swing item-item similarity on the negative graph (method §6)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting


@dataclass(frozen=True)
class SwingConfig(Settings):
    activity_power: float = setting(0.3, "user weight w_u = |I_u|^-power: a user who dislikes everything says "
                                         "little", low=0)
    alpha: float = setting(1.0, "smoothing in 1 / (alpha + |I_u ∩ I_v|): two users who share many dislikes "
                                "count once", low=0)
    min_common_users: int = setting(2, "users who disliked both items of a pair (2 is the least Swing sees: it "
                                       "sums over pairs of users)", low=2)
    top_k: int = setting(20, "neighbours stored per item; the default reward reads the top 10", low=1)
    max_items_per_user: int = setting(300, "a user's most recent training negatives kept: bounds heavy users' "
                                           "pair work", low=1)
    max_users_per_item: int = setting(300, "an item's most recent dislikers kept: user pairs grow with its "
                                           "square", low=1)
