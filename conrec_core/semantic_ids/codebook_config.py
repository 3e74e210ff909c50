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
    epochs: int = 40  # passes over the catalogue; codes settle within a few dozen at batch 256
    warmup_epochs: int = 20  # first epochs train the autoencoder alone, so k-means starts from real latents
    batch_size: int = 256  # more, smaller steps beat fewer large ones on catalogues of a few thousand
    learning_rate: float = 2e-3
    code_decoder_dims: tuple[int, ...] = (1024, 1024)  # MLP reading each level's codeword (see rqvae.py);
    # MovieLens: (512, 512) reaches cosine 0.89 in 4000 steps, (1024, 1024) 0.93 in 2000
    code_decoder_steps: int = 2000  # fitted after the codebook is frozen
    code_decoder_batch_size: int = 512
    commitment_weight: float = 0.25  # beta of the commitment loss
    reconstruction_loss: str = "cosine"  # cosine (item vectors are unit length) or mse
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
        if self.code_decoder_steps < 0 or self.code_decoder_batch_size < 1:
            raise ValueError("code_decoder_steps must be >= 0 and code_decoder_batch_size >= 1")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError("warmup_epochs must be at least 0 and below epochs")
        if self.reconstruction_loss not in ("cosine", "mse"):
            raise ValueError("reconstruction_loss must be cosine or mse")
        if not 0 < self.ema_decay < 1:
            raise ValueError("ema_decay must be between 0 and 1")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["hidden_dims"] = list(self.hidden_dims)
        data["code_decoder_dims"] = list(self.code_decoder_dims)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "CodebookConfig":
        values = dict(data)
        values["hidden_dims"] = tuple(values.get("hidden_dims", cls.hidden_dims))
        values["code_decoder_dims"] = tuple(values.get("code_decoder_dims", cls.code_decoder_dims))
        values["encoder"] = EncoderConfig(**values.get("encoder", {}))
        return cls(**values)
