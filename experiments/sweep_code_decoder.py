"""Reconstruction cosine and time of the code decoder against its steps, on one frozen codebook.

    python -m experiments.sweep_code_decoder [WORKSPACE] [--steps 600 2000] [--learning-rate 2e-3]

Trains the default RQ-VAE once on the workspace's items (default: the synthetic sample), then fits a fresh code
decoder for each number of steps on the same frozen codes and prints its seconds, its mean and 10th-percentile
reconstruction cosine (method §3's target: 0.9) and the steps `CodebookConfig` would choose on this catalogue.
The SIDs do not depend on the code decoder (`CodebookConfig.sid_settings`).
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path, nargs="?")
    parser.add_argument("--steps", type=int, nargs="+", default=[600, 2000])
    parser.add_argument("--learning-rate", type=float, help="default: the codebook's")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from conrec_core.semantic_ids.codebook_config import CodebookConfig
    from conrec_core.semantic_ids.encoder import encode_items
    from conrec_core.semantic_ids.rqvae import mlp
    from conrec_core.semantic_ids.training import fit_code_decoder, train_rqvae
    from conrec_core.shipped.sample_data import sample_workspace

    workspace = args.workspace or sample_workspace("synthetic-shop")
    config = CodebookConfig()
    if args.learning_rate:
        config = replace(config, learning_rate=args.learning_rate)
    features = encode_items(workspace, config.encoder)
    trained = train_rqvae(features.vectors, replace(config, code_decoder_steps=0))
    data = torch.from_numpy(features.vectors.astype("float32"))
    codes = torch.from_numpy(trained.codes)
    print(f"{len(data):,} items; the RQ-VAE's own decoder: cosine {trained.sum_decoder_cosine.mean():.3f}; "
          f"auto steps here: {config.code_decoder_steps_for(len(data))}; {torch.get_num_threads()} threads")
    for steps in args.steps:
        model = copy.deepcopy(trained.model)
        model.code_decoder = mlp([config.levels * config.latent_dim, *config.code_decoder_dims, model.input_dim])
        started = time.perf_counter()
        fit_code_decoder(model, data, codes, replace(config, code_decoder_steps=steps), lambda fraction, message: None)
        seconds = time.perf_counter() - started
        cosine = F.cosine_similarity(model.decode_codes(codes), data, dim=1)
        print(f"{steps:>6} steps {seconds:6.1f} s  cosine {cosine.mean():.3f} (10th percentile "
              f"{cosine.quantile(0.1):.3f})", flush=True)


if __name__ == "__main__":
    main()
