"""Turn samples into what rewards compare outputs with: GTS (future negatives ∪ Swing neighbours) and FPS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..semantic_ids.store import Codebook
from .rewards import SampleTargets, SidOutput


@dataclass
class RewardTable:
    unit_vectors: np.ndarray  # (items, d) SID vectors scaled to unit length, SemanticIds row order
    level_codes: list[tuple[int, ...]]  # per row, the level codes without the collision rank
    rows_of: dict[str, int]
    neighbours: dict[str, list[str]]  # item -> its top Swing neighbours on the negative graph

    @classmethod
    def build(cls, codebook: Codebook, neighbours: dict[str, list[str]], swing_neighbours: int) -> "RewardTable":
        unit = codebook.unit_vectors()
        levels = codebook.config.levels
        return cls(unit, [tuple(c[:levels]) for c in codebook.sids.codes], dict(codebook.sids.item_to_row),
                   {item: list(near[:swing_neighbours]) for item, near in neighbours.items()})

    def target_rows(self, future_negatives: list[str]) -> list[int]:
        """GTS as rows: each future negative, then its Swing neighbours; items without a SID are skipped."""
        items = list(future_negatives)
        for item in future_negatives:
            items.extend(self.neighbours.get(item, []))
        return sorted({self.rows_of[i] for i in items if i in self.rows_of})

    def targets(self, next_negative: str, future_negatives: list[str], future_positives: list[str]
                ) -> SampleTargets:
        gts = self.target_rows(future_negatives)
        fps = sorted({self.rows_of[i] for i in future_positives if i in self.rows_of})
        return SampleTargets(self.unit_vectors[gts], [self.level_codes[r] for r in gts], self.unit_vectors[fps],
                             self.rows_of.get(next_negative, -1))

    def output(self, row: int | None) -> SidOutput | None:
        return None if row is None else SidOutput(row, self.unit_vectors[row], self.level_codes[row])
