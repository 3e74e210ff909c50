"""Settings of the item encoder: which vectors describe an item, and how much each counts (method §3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

COLLABORATIVE_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class EncoderConfig:
    text_weight: float = 1.0  # MiniLM over title, category and text: the main semantic signal
    image_weight: float = 0.5  # an `image` side vector when the workspace has one (paper: title + image)
    collaborative_weight: float = 0.5  # co-occurrence vectors: the only signal for items without text
    collaborative: str = "auto"  # auto: use them when some items have no text; on: always; off: never
    collaborative_dim: int = 64  # truncated-SVD rank of the user x item matrix
    text_batch_size: int = 128

    def __post_init__(self):
        if self.collaborative not in COLLABORATIVE_MODES:
            raise ValueError(f"collaborative must be one of {', '.join(COLLABORATIVE_MODES)}")
        if min(self.text_weight, self.image_weight, self.collaborative_weight) < 0:
            raise ValueError("weights must not be negative")
        if self.collaborative_dim < 2:
            raise ValueError("collaborative_dim must be at least 2")

    def to_dict(self) -> dict:
        return asdict(self)
