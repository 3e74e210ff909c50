"""2-D map coordinates of items (UMAP), computed once with the codebook and stored, never in a page."""

from __future__ import annotations

import numpy as np

# UMAP on more items takes minutes on 2 cores (docs/decisions.md#big-catalogues): a larger catalogue's map is
# fitted on this many items drawn at random, and every other item placed among its nearest fitted ones
MAP_FIT_ITEMS = 20_000
PLACING_NEIGHBOURS = 10


def map_coordinates(latents: np.ndarray, seed: int = 0, neighbours: int = 15,
                    epochs: int | None = None) -> np.ndarray:
    """(items, 2) UMAP coordinates of the encoder latents; deterministic for a seed (single-threaded). `epochs`:
    UMAP's optimisation epochs (None: its own choice, 500 for small catalogues)."""
    if len(latents) < 4:  # UMAP needs a few points; a line is honest for fewer
        return np.column_stack([np.arange(len(latents), dtype=np.float32), np.zeros(len(latents), np.float32)])
    if len(latents) > MAP_FIT_ITEMS:
        fitted = np.sort(np.random.default_rng(seed).choice(len(latents), MAP_FIT_ITEMS, replace=False))
        coordinates = np.empty((len(latents), 2), dtype=np.float32)
        coordinates[fitted] = map_coordinates(latents[fitted], seed, neighbours, epochs)
        others = np.setdiff1d(np.arange(len(latents)), fitted)
        coordinates[others] = placed_among(latents[fitted], coordinates[fitted], latents[others])
        return coordinates
    # numba compiles UMAP's kernels on first use in a process (about 8 s, benchmarks/bench_item_map.py): no page
    # imports it
    import umap

    reducer = umap.UMAP(n_components=2, n_neighbors=min(neighbours, len(latents) - 1), min_dist=0.1,
                        metric="cosine", random_state=seed, n_jobs=1, n_epochs=epochs)
    return reducer.fit_transform(latents).astype(np.float32)


def placed_among(fitted: np.ndarray, fitted_xy: np.ndarray, others: np.ndarray,
                 neighbours: int = PLACING_NEIGHBOURS) -> np.ndarray:
    """Coordinates for `others`: the mean of their most cosine-similar `fitted` points' coordinates, weighted by
    similarity (where UMAP's own transform starts its optimisation)."""
    import faiss

    base, queries = (np.ascontiguousarray(a, dtype=np.float32).copy() for a in (fitted, others))
    faiss.normalize_L2(base)
    faiss.normalize_L2(queries)
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    similarity, rows = index.search(queries, min(neighbours, len(base)))
    weights = np.clip(similarity, 1e-6, None)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("qk,qkd->qd", weights, fitted_xy[rows]).astype(np.float32)
