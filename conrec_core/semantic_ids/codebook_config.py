"""Settings of the RQ-VAE codebook that turns item vectors into semantic IDs (method §3)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..config import Settings, setting
from ..errors import ConfigError
from .encoder_config import EncoderConfig


CODE_DECODER_PASSES = 105  # the code decoder's passes over the catalogue when its steps are auto
# ... and the most steps auto gives: it only reports how well each SID describes its item, so on a large catalogue
# its time is capped rather than its fit (docs/decisions.md#big-catalogues)
CODE_DECODER_MAX_AUTO_STEPS = 2_000


@dataclass(frozen=True)
class CodebookConfig(Settings):
    levels: int = setting(3, "residual levels: SID tokens <a_><b_><c_> (plus <d_> for collisions)", low=1)
    codebook_size: int = setting(256, "codes per level (paper: 8192 at Taobao scale; 256^3 far exceeds the "
                                      "sample catalogues)", low=2)
    latent_dim: int = setting(32, "quantised latent size; small keeps k-means and the codebooks cheap", low=2)
    hidden_dims: tuple[int, ...] = setting((512, 256), "encoder MLP widths (the decoder mirrors them)", low=1)
    epochs: int = setting(40, "passes over the catalogue; codes settle within a few dozen at batch 256 (fewer "
                              "on a catalogue so large that they would take more than max_steps)", low=1)
    # docs/decisions.md#big-catalogues: 51,200 items at the defaults; the sample catalogues stay under it
    max_steps: int = setting(8_000, "the most RQ-VAE steps: a larger catalogue trains fewer passes, at least 2",
                             low=1)
    warmup_epochs: int | None = setting(None, "first epochs train the autoencoder alone, so k-means starts "
                                              "from real latents; auto = half of epochs", low=0)
    batch_size: int = setting(256, "items per step: more, smaller steps beat fewer large ones on catalogues of "
                                   "a few thousand", low=1)
    learning_rate: float = setting(2e-3, "AdamW learning rate", above=0)
    # MovieLens: (512, 512) reaches cosine 0.89 in 4000 steps, (1024, 1024) 0.93 in 2000
    code_decoder_dims: tuple[int, ...] = setting((1024, 1024), "MLP widths of the decoder that reads each "
                                                               "level's codeword (see rqvae.py)", low=1)
    # docs/decisions.md#code-decoder-steps
    code_decoder_steps: int | None = setting(None, "steps of the code decoder, fitted after the codebook is "
                                                   f"frozen; auto = {CODE_DECODER_PASSES} passes over the "
                                                   "catalogue (1,998 steps on 9,742 items, 616 on 3,000), at "
                                                   f"most {CODE_DECODER_MAX_AUTO_STEPS:,}", low=0)
    code_decoder_batch_size: int = setting(512, "items per code-decoder step", low=1)
    commitment_weight: float = setting(0.25, "beta of the commitment loss", low=0)
    reconstruction_loss: str = setting("cosine", "cosine (item vectors are unit length) or mse",
                                       choices=("cosine", "mse"))
    ema_decay: float = setting(0.95, "codebook EMA; lower adapts faster, which small catalogues need",
                               above=0, below=1)
    kmeans_iters: int = setting(20, "k-means iterations initialising every level on the first batch", low=1)
    dead_code_threshold: float = setting(1.0, "codes used less than this (EMA count) are re-seeded from the batch",
                                         low=0)
    seed: int = setting(0, "random seed")
    encoder: EncoderConfig = setting(None, "item encoder settings", cli=False, default_factory=EncoderConfig)

    def __post_init__(self):
        super().__post_init__()
        if self.warmup_epochs is not None and self.warmup_epochs >= self.epochs:
            raise ConfigError(f"warmup_epochs ({self.warmup_epochs}) must be below epochs ({self.epochs})")

    @property
    def autoencoder_epochs(self) -> int:
        """Epochs before quantisation starts: the setting, or half of `epochs` when it is auto."""
        return self.epochs // 2 if self.warmup_epochs is None else self.warmup_epochs

    def epochs_for(self, items: int) -> int:
        """Passes over a catalogue of `items`: `epochs`, or as many as `max_steps` allows (at least 2, one of
        them quantised).

        >>> CodebookConfig().epochs_for(9742), CodebookConfig().epochs_for(200_000), CodebookConfig().epochs_for(10**7)
        (40, 10, 2)
        """
        steps_per_epoch = math.ceil(items / self.batch_size)
        return min(self.epochs, max(2, self.max_steps // steps_per_epoch))

    def autoencoder_epochs_for(self, items: int) -> int:
        """Epochs before quantisation on a catalogue of `items`: the warm-up's share of `epochs` kept.

        >>> CodebookConfig().autoencoder_epochs_for(9742), CodebookConfig().autoencoder_epochs_for(200_000)
        (20, 5)
        """
        epochs = self.epochs_for(items)
        if epochs == self.epochs:
            return self.autoencoder_epochs
        return min(epochs - 1, max(1, round(self.autoencoder_epochs * epochs / self.epochs)))

    def code_decoder_steps_for(self, items: int) -> int:
        """The code decoder's steps on a catalogue of `items`: the setting, or `CODE_DECODER_PASSES` passes over
        the catalogue when it is auto.

        >>> [CodebookConfig().code_decoder_steps_for(items) for items in (3000, 9742, 200_000)]
        [616, 1998, 2000]
        >>> CodebookConfig(code_decoder_steps=50).code_decoder_steps_for(3000)
        50
        """
        if self.code_decoder_steps is not None:
            return self.code_decoder_steps
        return min(CODE_DECODER_MAX_AUTO_STEPS, math.ceil(CODE_DECODER_PASSES * items / self.code_decoder_batch_size))

    def covering(self, items: int) -> "CodebookConfig":
        """These settings with codes enough per level that the levels' SID prefixes are at least as many as
        `items` (the smallest power of two that does; never fewer codes than asked): fewer would hand most items
        a long collision suffix, and the SID model a vocabulary of it (16 codes on 200,000 items: a suffix of up
        to 9,500 tokens).

        >>> [CodebookConfig(codebook_size=16).covering(n).codebook_size for n in (3_000, 9_742, 200_000)]
        [16, 32, 64]
        >>> CodebookConfig().covering(200_000).codebook_size
        256
        """
        size = self.codebook_size
        while size ** self.levels < items:
            size *= 2
        return replace(self, codebook_size=size)

    def sid_settings(self) -> "CodebookConfig":
        """The settings that decide the SIDs, resolved: the code decoder is fitted after the codebook is frozen
        (its own random stream, rqvae.py) and only reports how well each SID describes its item, so configs that
        differ in it alone give the same SIDs."""
        return replace(self.resolved(), code_decoder_dims=(), code_decoder_steps=None, code_decoder_batch_size=1)

    def resolved(self) -> "CodebookConfig":
        """The same settings with the automatic warm-up written out: two configs that fit the same codebook are
        equal once resolved (codebooks of earlier versions stored the warm-up as a number)."""
        return replace(self, warmup_epochs=self.autoencoder_epochs)
