"""2-D map coordinates of items (UMAP), computed once with the codebook and stored, never in a page."""

from __future__ import annotations

import numpy as np


def map_coordinates(latents: np.ndarray, seed: int = 0, neighbours: int = 15,
                    epochs: int | None = None) -> np.ndarray:
    """(items, 2) UMAP coordinates of the encoder latents; deterministic for a seed (single-threaded). `epochs`:
    UMAP's optimisation epochs (None: its own choice, 500 for small catalogues)."""
    if len(latents) < 4:  # UMAP needs a few points; a line is honest for fewer
        return np.column_stack([np.arange(len(latents), dtype=np.float32), np.zeros(len(latents), np.float32)])
    # numba compiles UMAP's kernels on first use in a process (about 8 s, benchmarks/bench_item_map.py): no page
    # imports it
    import umap

    reducer = umap.UMAP(n_components=2, n_neighbors=min(neighbours, len(latents) - 1), min_dist=0.1,
                        metric="cosine", random_state=seed, n_jobs=1, n_epochs=epochs)
    return reducer.fit_transform(latents).astype(np.float32)
