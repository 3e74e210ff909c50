"""How MovieLens ratings become feedback: kept apart from the importer so the CLI builds its options without
loading pandas."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting
from ..errors import ConfigError


@dataclass(frozen=True)
class MovieLensConfig(Settings):
    negative_max: float = setting(2.0, "ratings at or below this are negative (0.5-2.0 are dislikes, method §2)")
    positive_min: float = setting(4.0, "ratings at or above this are positive; those between stay neutral")

    def __post_init__(self):
        super().__post_init__()
        if not self.negative_max < self.positive_min:
            raise ConfigError(f"negative_max ({self.negative_max}) must be below positive_min ({self.positive_min})")
