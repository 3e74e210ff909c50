"""Settings for turning events into (user, anchor time) samples (method §2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config import Settings, setting
from ..errors import ConfigError

SPLITS = ("per_user", "global")
# What a sample's candidates exclude (method §2): every item the user met before the anchor, in any event; only
# those with feedback (negative or positive); or only the truncated context lists (the old rule, for comparison).
SEEN_RULES = ("all_events", "feedback", "context")


@dataclass(frozen=True)
class SampleConfig(Settings):
    split: str = setting("per_user", "per_user fits bursty logs (MovieLens); global fits dense logs with "
                                     "calendar time", choices=SPLITS)
    window_days: float = setting(7.0, "future window [t, t + window) in days: the paper's 7 days lifts "
                                      "ground-truth coverage from 17% to 48%", above=0)
    recent_days: float = setting(3.0, "days of the 'recent negatives' context of progressive GRPO stage 1",
                                 above=0)
    context_limit: int = setting(50, "most recent items kept in each context sequence", low=1)
    validation_quantile: float = setting(0.7, "per_user: the user's event-time quantile that opens validation; "
                                              "global: the quantile of all event times", above=0, high=1)
    test_quantile: float = setting(0.8, "the quantile that opens test (at or above the validation one)",
                                   above=0, high=1)
    validation_cut: datetime | None = setting(None, "global split only: an explicit calendar cut in ISO-8601 "
                                                    "UTC instead of a quantile, with test_cut")
    test_cut: datetime | None = setting(None, "global split only: an explicit calendar test cut (UTC)")
    # docs/decisions.md#validation-anchors
    validation_anchors: int = setting(5, "per_user: the most validation samples per user, anchored at negatives "
                                         "spread evenly over the user's validation part, first and last included "
                                         "(1 = only the first, as test)", low=1)
    long_tail_user_negatives: int = setting(3, "a sample's user is long-tail with fewer negatives than this in "
                                               "the context", low=1)
    long_tail_item_negatives: int = setting(5, "an item is long-tail with fewer negatives than this in the "
                                               "training part", low=1)
    evaluation_users: int | None = setting(None, "at most this many users hold validation and test samples, the "
                                                 "first by the MD5 of their id (the same users on every build of "
                                                 "a log); every user's training samples stay. For logs too big "
                                                 "to evaluate every user (auto: every user)", low=1)
    exclude_seen: str = setting("all_events", "items every method's candidates exclude: all_events = every item "
                                              "the user met before the anchor (a rated film cannot be a hit); "
                                              "feedback = only those with a negative or positive; context = only "
                                              "the truncated context lists", choices=SEEN_RULES)

    def definitions(self) -> dict[str, str]:
        """The long-tail and window rules in words, formatted from these settings (never restated by hand)."""
        return {"long-tail users": f"fewer than {self.long_tail_user_negatives} negatives before the anchor",
                "long-tail items": f"fewer than {self.long_tail_item_negatives} negatives in the training part",
                "future window": f"{self.window_days:g} days from the anchor"}

    def __post_init__(self):
        super().__post_init__()
        if self.validation_quantile > self.test_quantile:
            raise ConfigError("validation_quantile must not be above test_quantile")
        if (self.validation_cut is None) != (self.test_cut is None):
            raise ConfigError("give both validation_cut and test_cut, or neither")
        if self.validation_cut is not None:
            if self.split != "global":
                raise ConfigError("calendar cuts apply to the global split only")
            if self.validation_cut > self.test_cut:
                raise ConfigError("validation_cut must not be after test_cut")
