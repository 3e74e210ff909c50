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
    # Measured with 6,000-step SFT models (reports/README.md): on MovieLens small, whose titles say little about
    # who rejects a film, co-occurrence vectors lift test FHR@20 from 0.146 to 0.184 (seed 0; validation 0.148 to
    # 0.170). On the synthetic shop, whose dislikes follow the category and shop the text already holds, they cost
    # the full method 0.252 to 0.237 on test (1.48 to 1.39 times cosine item-CF). Real logs are what the tool is
    # for, so they are on by default; auto keeps the earlier rule (only when some items have no text).
    collaborative: str = setting("on", "co-occurrence vectors: on = always, auto = when some items have no text, "
                                       "off = never", choices=COLLABORATIVE_MODES)
    collaborative_dim: int = setting(64, "truncated-SVD rank of the user x item matrix", low=2)
    text_batch_size: int = setting(128, "titles embedded per MiniLM batch", low=1, cli=False)
