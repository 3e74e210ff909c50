"""2-D map coordinates of items (UMAP), computed once with the codebook and stored, never in a page."""

from __future__ import annotations

import numpy as np


def map_coordinates(latents: np.ndarray, seed: int = 0, neighbours: int = 15) -> np.ndarray:
    """(items, 2) UMAP coordinates of the encoder latents; deterministic for a seed (single-threaded)."""
    if len(latents) < 4:  # UMAP needs a few points; a line is honest for fewer
        return np.column_stack([np.arange(len(latents), dtype=np.float32), np.zeros(len(latents), np.float32)])
    import umap  # numba JIT on first use in a process (~40 s): keep it out of imports that pages make

    reducer = umap.UMAP(n_components=2, n_neighbors=min(neighbours, len(latents) - 1), min_dist=0.1,
                        metric="cosine", random_state=seed, n_jobs=1)
    return reducer.fit_transform(latents).astype(np.float32)
