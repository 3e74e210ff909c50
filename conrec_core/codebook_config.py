"""Settings of the RQ-VAE codebook that turns item vectors into semantic IDs (method §3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .encoder_config import EncoderConfig


@dataclass(frozen=True)
class CodebookConfig:
    levels: int = 3  # residual levels: SID tokens <a_><b_><c_> (plus <d_> for collisions)
    codebook_size: int = 256  # codes per level (paper: 8192 at Taobao scale; 256^3 >> sample catalogues)
    latent_dim: int = 32  # quantised latent; small keeps k-means and the codebooks cheap
    hidden_dims: tuple[int, ...] = (512, 256)  # encoder MLP widths (the decoder mirrors them)
    epochs: int = 300  # passes over the catalogue; small catalogues need many to reach cosine >= 0.9
    batch_size: int = 1024
    learning_rate: float = 1e-3
    commitment_weight: float = 0.25  # beta of the commitment loss
    ema_decay: float = 0.95  # codebook EMA; lower adapts faster, which small catalogues need
    kmeans_iters: int = 20  # k-means initialisation of every level on the first batch
    dead_code_threshold: float = 1.0  # codes used less than this (EMA count) are re-seeded from the batch
    seed: int = 0
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def __post_init__(self):
        if self.levels < 1 or self.codebook_size < 2 or self.latent_dim < 2:
            raise ValueError("need levels >= 1, codebook_size >= 2 and latent_dim >= 2")
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("epochs, batch_size and learning_rate must be positive")
        if not 0 < self.ema_decay < 1:
            raise ValueError("ema_decay must be between 0 and 1")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["hidden_dims"] = list(self.hidden_dims)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "CodebookConfig":
        values = dict(data)
        values["hidden_dims"] = tuple(values.get("hidden_dims", cls.hidden_dims))
        values["encoder"] = EncoderConfig(**values.get("encoder", {}))
        return cls(**values)
