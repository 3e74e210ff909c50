"""Train an RQ-VAE on item vectors and measure the codebook it learned."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .codebook_config import CodebookConfig
from .rqvae import RQVAE
from .sids import SemanticIds

Progress = Callable[[float, str], None]


@dataclass
class QualityReport:
    items: int
    reconstruction_cosine_mean: float  # decoded from the SID by the code decoder; target >= 0.9 (method §3)
    reconstruction_cosine_p10: float
    sum_decoder_cosine_mean: float  # the RQ-VAE's own decoder on the summed codewords, for comparison
    utilisation: list[float]  # per level: share of the codebook that some item uses
    perplexity: list[float]  # per level: exp(entropy of code use); codebook_size means perfectly even
    fourth_token_share: float  # share of items whose level codes collide and need the <d_k> token
    largest_collision_group: int
    loss_curve: list[dict] = field(default_factory=list)  # per epoch: loss, reconstruction, commitment
    code_decoder_curve: list[dict] = field(default_factory=list)  # step, loss (1 - cosine)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainedRQVAE:
    model: RQVAE
    latents: np.ndarray  # (items, latent_dim) continuous encoder outputs
    codes: np.ndarray  # (items, levels)
    sid_vectors: np.ndarray  # (items, latent_dim) quantised latents: the sum of each item's codewords
    distances: np.ndarray  # (items,) distance of each latent to its quantised vector
    reconstruction_cosine: np.ndarray  # (items,) from the code decoder
    sum_decoder_cosine: np.ndarray  # (items,) from the RQ-VAE decoder
    loss_curve: list[dict]
    code_decoder_curve: list[dict]
    seconds: float


def reconstruction_error(reconstruction: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "cosine":  # item vectors are unit length: only the direction carries meaning
        return (1 - F.cosine_similarity(reconstruction, target, dim=1)).mean()
    return (reconstruction - target).pow(2).sum(dim=1).mean()


def train_rqvae(vectors: np.ndarray, config: CodebookConfig, on_progress: Progress = lambda f, m: None
                ) -> TrainedRQVAE:
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    data = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    model = RQVAE(data.shape[1], config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    epochs, warmup = config.epochs_for(len(data)), config.autoencoder_epochs_for(len(data))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    curve = []
    # of this step's progress; the code decoder gets the rest
    joint_share = 0.5 if config.code_decoder_steps_for(len(data)) else 1.0
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(data), generator=generator)
        after_warmup = epoch >= warmup
        totals = np.zeros(3)
        for start in range(0, len(data), config.batch_size):
            batch = data[order[start:start + config.batch_size]]
            reconstruction, _, commitment = model(batch, quantize=after_warmup)
            reconstruction_loss = reconstruction_error(reconstruction, batch, config.reconstruction_loss)
            loss = reconstruction_loss + commitment
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            totals += np.array([loss.item(), reconstruction_loss.item(), commitment.item()]) * len(batch)
        scheduler.step()
        loss, reconstruction_loss, commitment = totals / len(data)
        curve.append({"epoch": epoch + 1, "loss": loss, "reconstruction": reconstruction_loss,
                      "commitment": commitment if after_warmup else None})
        on_progress(joint_share * (epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs}: loss {loss:.4f}")
    model.eval()
    with torch.no_grad():
        latents, codes = model.encode(data)
        quantized = model.code_vectors(codes)
        sum_cosine = F.cosine_similarity(model.decoder(quantized), data, dim=1)
        distances = (latents - quantized).norm(dim=1)
    decoder_curve = fit_code_decoder(model, data, codes, config,
                                     lambda f, m: on_progress(joint_share + (1 - joint_share) * f, m))
    with torch.no_grad():
        cosine = F.cosine_similarity(model.decode_codes(codes), data, dim=1)
    return TrainedRQVAE(model=model, latents=latents.numpy(), codes=codes.numpy(), sid_vectors=quantized.numpy(),
                        distances=distances.numpy(),
                        reconstruction_cosine=cosine.numpy(), sum_decoder_cosine=sum_cosine.numpy(),
                        loss_curve=curve, code_decoder_curve=decoder_curve,
                        seconds=time.perf_counter() - started)


def fit_code_decoder(model: RQVAE, data: torch.Tensor, codes: torch.Tensor, config: CodebookConfig,
                     on_progress: Progress) -> list[dict]:
    """Fit the code decoder on the frozen codebook: from each item's codes back to its vector."""
    curve: list[dict] = []
    steps = config.code_decoder_steps_for(len(data))
    if steps == 0:
        return curve
    generator = torch.Generator().manual_seed(config.seed + 1)
    codewords = model.level_codewords(codes)
    model.code_mean.copy_(codewords.mean(dim=0))
    model.code_std.copy_(codewords.std(dim=0).clamp_min(1e-6))
    optimizer = torch.optim.AdamW(model.code_decoder.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    model.code_decoder.train()
    report_every = max(1, steps // 20)
    running = 0.0
    for step in range(1, steps + 1):
        batch = torch.randint(0, len(data), (config.code_decoder_batch_size,), generator=generator)
        loss = reconstruction_error(model.decode_codewords(codewords[batch]), data[batch], "cosine")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        running += loss.item()
        if step % report_every == 0:
            curve.append({"step": step, "loss": running / report_every})
            on_progress(step / steps, f"code decoder step {step}/{steps}: loss {running / report_every:.4f}")
            running = 0.0
    model.code_decoder.eval()
    return curve


def quality_report(trained: TrainedRQVAE, config: CodebookConfig, sids: SemanticIds) -> QualityReport:
    utilisation, perplexity = [], []
    for level in range(config.levels):
        counts = np.bincount(trained.codes[:, level], minlength=config.codebook_size)
        used = counts[counts > 0] / counts.sum()
        utilisation.append(float((counts > 0).mean()))
        perplexity.append(float(np.exp(-(used * np.log(used)).sum())))
    _, group_sizes = np.unique(trained.codes, axis=0, return_counts=True)
    return QualityReport(
        items=len(trained.codes),
        reconstruction_cosine_mean=float(trained.reconstruction_cosine.mean()),
        reconstruction_cosine_p10=float(np.quantile(trained.reconstruction_cosine, 0.1)),
        sum_decoder_cosine_mean=float(trained.sum_decoder_cosine.mean()),
        utilisation=utilisation, perplexity=perplexity,
        fourth_token_share=sids.fourth_token_share,
        largest_collision_group=int(group_sizes.max()), loss_curve=trained.loss_curve,
        code_decoder_curve=trained.code_decoder_curve,
        seconds=round(trained.seconds, 2))
