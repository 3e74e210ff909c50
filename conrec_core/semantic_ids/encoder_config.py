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
    # who rejects a film, co-occurrence vectors lift validation FHR@20 by about 0.03; on the synthetic shop, whose
    # dislikes follow the category and shop the text already holds, they lower it (0.132 against 0.136). A
    # dataset-dependent choice, so auto keeps text alone where every item has text; say on for logs like MovieLens.
    collaborative: str = setting("auto", "co-occurrence vectors: auto = when some items have no text, on = always, "
                                         "off = never", choices=COLLABORATIVE_MODES)
    collaborative_dim: int = setting(64, "truncated-SVD rank of the user x item matrix", low=2)
    text_batch_size: int = setting(128, "titles embedded per MiniLM batch", low=1, cli=False)
