"""RQ-VAE: an MLP encoder, residual vector quantisation, an MLP decoder (method §3), and a code decoder.

The quantiser is vector-quantize-pytorch's ResidualVQ (EMA codebooks, k-means initialisation, dead-code
restart, commitment loss). Reading order: MLP, then the model.

The RQ-VAE's decoder reads the sum of the chosen codewords, in which the last level is a small nudge, so
items that share their first levels decode almost alike (measured on MovieLens: reconstruction cosine 0.82
at 3 x 256 codes however long it trains). The code decoder reads each level's codeword side by side and is
fitted after the codebook is frozen: what it reconstructs is what the SID itself says about the item.
"""

from __future__ import annotations

import torch
from torch import nn
from vector_quantize_pytorch import ResidualVQ

from .codebook_config import CodebookConfig


def mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (width_in, width_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(width_in, width_out))
        if index < len(widths) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class RQVAE(nn.Module):
    def __init__(self, input_dim: int, config: CodebookConfig):
        super().__init__()
        self.input_dim = input_dim
        self.encoder = mlp([input_dim, *config.hidden_dims, config.latent_dim])
        self.quantizer = ResidualVQ(
            dim=config.latent_dim, num_quantizers=config.levels, codebook_size=config.codebook_size,
            decay=config.ema_decay, kmeans_init=True, kmeans_iters=config.kmeans_iters,
            threshold_ema_dead_code=config.dead_code_threshold, commitment_weight=config.commitment_weight)
        self.decoder = mlp([config.latent_dim, *reversed(config.hidden_dims), input_dim])
        with torch.random.fork_rng():  # its size must not shift the random stream the RQ-VAE trains with
            self.code_decoder = mlp([config.levels * config.latent_dim, *config.code_decoder_dims, input_dim])
        # per-feature standardisation of the code decoder's input (levels differ in scale); set by the fit
        self.register_buffer("code_mean", torch.zeros(config.levels * config.latent_dim))
        self.register_buffer("code_std", torch.ones(config.levels * config.latent_dim))

    def forward(self, x: torch.Tensor, quantize: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Reconstruction, codes (batch, levels) and the commitment loss summed over levels.

        quantize=False skips the quantiser (plain autoencoder): the warm-up that gives k-means
        initialisation meaningful latents instead of those of a random encoder.
        """
        latent = self.encoder(x)
        if not quantize:
            return self.decoder(latent), None, latent.new_zeros(())
        quantized, codes, commitment = self.quantizer(latent)
        return self.decoder(quantized), codes, commitment.sum()

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Continuous latent and codes, without touching the codebooks."""
        latent = self.encoder(x)
        _, codes, _ = self.quantizer(latent)
        return latent, codes

    @torch.no_grad()
    def code_vectors(self, codes: torch.Tensor) -> torch.Tensor:
        """Sum of the chosen codewords of each level: the quantised latent of a SID."""
        return self.quantizer.get_output_from_indices(codes)

    @torch.no_grad()
    def level_codewords(self, codes: torch.Tensor) -> torch.Tensor:
        """(batch, levels * latent_dim): each level's chosen codeword, side by side."""
        per_level = self.quantizer.get_codes_from_indices(codes)  # (levels, batch, latent_dim)
        return per_level.permute(1, 0, 2).reshape(codes.shape[0], -1)

    def decode_codewords(self, codewords: torch.Tensor) -> torch.Tensor:
        return self.code_decoder((codewords - self.code_mean) / self.code_std)

    @torch.no_grad()
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """The item vector as the SID alone describes it."""
        return self.decode_codewords(self.level_codewords(codes))
