"""Codebook training time and peak memory for 1k, 10k and 100k generated items.

    python -m benchmarks.bench_codebook                  # 1k, 10k, 100k items, default settings
    python -m benchmarks.bench_codebook --items 1000 10000 --epochs 10

Item vectors are generated (a mixture of 300 Gaussian clusters in 416 dimensions, unit length, like the
synthetic shop's text + image vectors), so the figures measure the RQ-VAE, not the text encoder. Each size
runs in its own process so its peak resident memory is its own. The last column is the share of a training
step spent in the quantiser (vector-quantize-pytorch's ResidualVQ), measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from conrec_core.semantic_ids.codebook_config import CodebookConfig
from conrec_core.semantic_ids.training import train_rqvae
from conrec_core.semantic_ids.rqvae import RQVAE


def generated_vectors(items: int, dim: int = 416, clusters: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vectors = centres[rng.integers(0, clusters, items)] + 0.6 * rng.normal(size=(items, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def quantiser_share(vectors: np.ndarray, config: CodebookConfig, steps: int = 30) -> float:
    model = RQVAE(vectors.shape[1], config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    data = torch.from_numpy(vectors)
    model.train()
    model(data[: config.batch_size])  # k-means initialisation, not timed
    batches = [data[torch.randint(0, len(data), (config.batch_size,))] for _ in range(steps)]
    started = time.perf_counter()
    for batch in batches:
        reconstruction, _, commitment = model(batch)
        loss = (reconstruction - batch).pow(2).sum(1).mean() + commitment
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    full = time.perf_counter() - started
    started = time.perf_counter()
    for batch in batches:
        with torch.no_grad():
            latent = model.encoder(batch)
        model.quantizer(latent)
    return (time.perf_counter() - started) / full


def run_one(items: int, epochs: int | None) -> dict:
    config = CodebookConfig() if epochs is None else CodebookConfig(epochs=epochs)
    vectors = generated_vectors(items)
    trained = train_rqvae(vectors, config)
    return {"items": items, "seconds": trained.seconds, "epochs": config.epochs,
            "cosine": float(trained.reconstruction_cosine.mean()),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "quantiser_share": quantiser_share(vectors, config)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--epochs", type=int, help="override the default epochs (for a quick run)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.epochs)))
        return
    print(f"torch threads {torch.get_num_threads()}; settings: CodebookConfig() defaults"
          + (f" with epochs={args.epochs}" if args.epochs else ""))
    print(f"{'items':>8}{'epochs':>8}{'seconds':>10}{'items/s':>10}{'peak MiB':>10}{'cosine':>8}{'VQ share':>10}")
    for items in args.items:
        command = [sys.executable, "-m", "benchmarks.bench_codebook", "--one", str(items)]
        if args.epochs:
            command += ["--epochs", str(args.epochs)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        throughput = result["items"] * result["epochs"] / result["seconds"]
        print(f"{items:>8,}{result['epochs']:>8}{result['seconds']:>10.1f}{throughput:>10,.0f}"
              f"{result['peak_rss_mib']:>10,.0f}{result['cosine']:>8.3f}{result['quantiser_share']:>10.0%}")
    print("items/s = item-epochs of RQ-VAE training per second (the code decoder's fixed steps included)")


if __name__ == "__main__":
    main()
