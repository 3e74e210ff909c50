"""Settings of constrained beam search over valid SIDs (method §7)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DecodingConfig:
    beams: int = 20  # beam width (paper: 20)
    returns: int = 20  # SIDs returned per prompt, best first; at most `beams`
    batch_size: int = 16  # prompts per generate call; 16 x 20 beams keeps the tiny model's steps batched
    exclude_seen: bool = True  # never return an item already in the user's context

    def __post_init__(self):
        if not 1 <= self.returns <= self.beams or self.batch_size < 1:
            raise ValueError("need 1 <= returns <= beams and batch_size >= 1")
