"""Two probes of method §8 beyond ranking: the filter simulation and the forgetting rate.

Filter simulation: an online filter drops a candidate whose SID vector is within cosine θ of any item of
the user's predicted-dislike set. For each test sample, the candidates are the items the user met in the
future window (any event: shown, liked, rejected); we count the share dropped, the share of the window's
negatives caught, and the share of its positives wrongly dropped, on a grid of θ.

Forgetting rate: item-level alignment accuracy (one disliked item among four) lost after a later stage,
relative to the warm-up model (paper: 13.6% for the full method, 31.4% for next-item SFT).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..semantic_ids.store import load_codebook
from ..data.workspace import open_workspace

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def filter_counts(predicted: np.ndarray, candidates: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """(thresholds, candidates) True where a candidate is filtered: max cosine to the predicted set ≥ θ.

    >>> filter_counts(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]]), (0.7, 0.9)).tolist()
    [[True, False, True], [True, False, False]]
    """
    if not len(predicted) or not len(candidates):
        return np.zeros((len(thresholds), len(candidates)), dtype=bool)
    closest = (candidates @ predicted.T).max(1)
    return closest[None, :] >= np.array(thresholds)[:, None] - 1e-9


def filter_simulation(workspace, checkpoint: str, split: str = "test", codebook: str = "default",
                      thresholds: tuple[float, ...] = THRESHOLDS) -> pd.DataFrame:
    """Per θ: filter rate, future negatives caught and future positives wrongly filtered (pooled over samples)."""
    book = load_codebook(workspace, codebook)
    unit, rows_of = book.unit_vectors(), book.sids.item_to_row
    with open_workspace(workspace) as con:
        predicted = con.execute("""SELECT p.sample_id, list(p.item_id) FROM predictions p
                                   JOIN samples s USING (sample_id) WHERE p.checkpoint = ? AND s.split = ?
                                   GROUP BY p.sample_id""", [checkpoint, split]).fetchall()
        window = con.execute("""
            SELECT s.sample_id, e.item_id, bool_or(e.kind = 'negative'), bool_or(e.kind = 'positive')
            FROM samples s JOIN events e ON e.user_id = s.user_id AND e.ts >= s.anchor_ts AND e.ts < s.window_end
            WHERE s.split = ? GROUP BY s.sample_id, e.item_id""", [split]).fetchall()
    by_sample: dict[int, list[tuple[str, bool, bool]]] = {}
    for sample_id, item, negative, positive in window:
        if item in rows_of:
            by_sample.setdefault(sample_id, []).append((item, negative, positive))
    totals = np.zeros((len(thresholds), 3))  # filtered, negatives caught, positives filtered
    counts = np.zeros(3)  # candidates, negatives, positives
    for sample_id, items in predicted:
        candidates = by_sample.get(sample_id, [])
        if not candidates:
            continue
        predicted_rows = [rows_of[i] for i in items if i in rows_of]
        filtered = filter_counts(unit[predicted_rows], unit[[rows_of[c[0]] for c in candidates]], thresholds)
        negative = np.array([c[1] for c in candidates])
        positive = np.array([c[2] for c in candidates])
        totals[:, 0] += filtered.sum(1)
        totals[:, 1] += (filtered & negative).sum(1)
        totals[:, 2] += (filtered & positive).sum(1)
        counts += [len(candidates), negative.sum(), positive.sum()]
    shares = totals / np.maximum(counts, 1)
    return pd.DataFrame({"theta": thresholds, "filter_rate": shares[:, 0], "negatives_caught": shares[:, 1],
                         "positives_filtered": shares[:, 2], "candidates": int(counts[0]),
                         "negatives": int(counts[1]), "positives": int(counts[2])})


def alignment_probe(workspace, checkpoint: str, split: str = "test", seed: int = 2,
                    task_data: dict | None = None) -> float | None:
    """Item-level alignment accuracy of a checkpoint on the split's samples (chance 0.25). `task_data`: codebook
    name -> its `read_task_data`, read here once per codebook and kept there for the next probe."""
    from ..lm.checkpoints import checkpoint_dir, load_checkpoint, read_training
    from ..lm.prompts import held_out_alignment, read_task_data
    from ..training.sft import PRETRAINED_MAX_LENGTH
    from ..training.sft_checks import alignment_accuracy

    folder = checkpoint_dir(workspace, checkpoint)
    training = read_training(folder)
    name = training.get("codebook", "default")
    book = load_codebook(workspace, name)
    backbone, _ = load_checkpoint(folder, codebook=book)
    task_data = {} if task_data is None else task_data
    if name not in task_data:
        task_data[name] = read_task_data(workspace, book)
    examples = held_out_alignment(task_data[name], book, split, np.random.default_rng(seed))
    max_length = backbone.config.max_positions if backbone.config.from_scratch else PRETRAINED_MAX_LENGTH
    return alignment_accuracy(backbone.model, backbone.tokenizer, book, examples, max_length)


def forgetting_rate(workspace, checkpoint: str, warmup: str, split: str = "test") -> dict:
    """Alignment accuracy of the warm-up and of the later checkpoint, and the share of it lost."""
    task_data: dict = {}
    before = alignment_probe(workspace, warmup, split, task_data=task_data)
    after = alignment_probe(workspace, checkpoint, split, task_data=task_data)
    rate = None if not before else (before - after) / before
    return {"warmup": warmup, "checkpoint": checkpoint, "alignment_before": before, "alignment_after": after,
            "forgetting_rate": rate}
