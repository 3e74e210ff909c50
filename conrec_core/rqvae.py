"""RQ-VAE: an MLP encoder, residual vector quantisation, an MLP decoder (method §3).

The quantiser is vector-quantize-pytorch's ResidualVQ (EMA codebooks, k-means initialisation, dead-code
restart, commitment loss). Reading order: MLP, then the model.
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

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction, codes (batch, levels) and the commitment loss summed over levels."""
        quantized, codes, commitment = self.quantizer(self.encoder(x))
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
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.code_vectors(codes))
