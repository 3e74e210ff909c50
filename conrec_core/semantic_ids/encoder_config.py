"""Settings of the item encoder: which vectors describe an item, and how much each counts (method §3)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, setting

COLLABORATIVE_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class EncoderConfig(Settings):
    text_weight: float = setting(1.0, "weight of the MiniLM text vector (title, category, text): the main "
                                      "semantic signal", low=0)
    image_weight: float = setting(0.5, "weight of an `image` side vector when the workspace has one (paper: "
                                       "title + image)", low=0)
    collaborative_weight: float = setting(0.5, "weight of the co-occurrence vectors: the only signal for items "
                                               "without text", low=0)
    # docs/decisions.md#collaborative-sids
    collaborative: str = setting("on", "co-occurrence vectors: on = always, auto = when some items have no text, "
                                       "off = never", choices=COLLABORATIVE_MODES)
    collaborative_dim: int = setting(64, "truncated-SVD rank of the user x item matrix", low=2)
    text_batch_size: int = setting(128, "titles embedded per MiniLM batch", low=1, cli=False)
