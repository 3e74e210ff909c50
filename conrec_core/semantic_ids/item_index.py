"""Nearest items by SID vector, with faiss (exact inner product on unit vectors = cosine)."""

from __future__ import annotations

import faiss
import numpy as np


class ItemIndex:
    def __init__(self, item_ids: list[str], vectors: np.ndarray):
        self.item_ids = list(item_ids)
        self.row = {item: i for i, item in enumerate(self.item_ids)}
        unit = np.ascontiguousarray(vectors, dtype=np.float32).copy()
        faiss.normalize_L2(unit)
        self.vectors = unit
        self.index = faiss.IndexFlatIP(unit.shape[1])
        self.index.add(unit)

    def nearest(self, item_id: str, k: int = 10) -> list[tuple[str, float]]:
        """The k items most similar to `item_id` (itself excluded), with cosine similarities."""
        scores, rows = self.index.search(self.vectors[[self.row[item_id]]], min(k + 1, len(self.item_ids)))
        return [(self.item_ids[r], float(s)) for r, s in zip(rows[0], scores[0])
                if r >= 0 and self.item_ids[r] != item_id][:k]
