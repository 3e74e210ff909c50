"""The popularity prior: each item's smoothed share of the training part's negatives (the most-disliked
baseline as a distribution), the weights it is tried with on validation, and the choice among them. The SID
model's decoding (decoding/prior_fusion.py) and the SASRec baseline with a prior add w · log prior to their own
log-probabilities."""

from __future__ import annotations

import duckdb
import numpy as np

# weights tried on validation; 0 keeps the model's own ranking and 10 is about the most-disliked order among
# the candidates, so the choice is never worse on validation than either
WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
SMOOTHING = 0.5  # pseudo-negatives per item: an item nobody disliked in training keeps a finite prior


def log_prior(counts) -> np.ndarray:
    """Log of each item's smoothed share of the training negatives, from its count.

    >>> np.round(np.exp(log_prior([3, 1, 0])), 3).tolist()
    [0.636, 0.273, 0.091]
    """
    smoothed = np.asarray(counts, dtype=np.float64) + SMOOTHING
    return np.log(smoothed / smoothed.sum())


def read_log_prior(con: duckdb.DuckDBPyConnection, item_ids: list[str]) -> np.ndarray:
    """The log prior of `item_ids`, in their order (an item without training negatives counts 0)."""
    counts = dict(con.execute("SELECT item_id, train_negatives FROM item_stats").fetchall())
    return log_prior([counts.get(item, 0) for item in item_ids])


def read_log_dislike_rate(con: duckdb.DuckDBPyConnection, item_ids: list[str]) -> np.ndarray:
    """The log of each item's smoothed training dislike rate, in the order of `item_ids`: a stream model's prior,
    whose own probability already says how likely the user meets the item (decoding/predict.py)."""
    from ..data.stats import training_dislike_rates

    return np.log(training_dislike_rates(con, item_ids))


def best_weight(fhr: dict[float, float]) -> float:
    """The weight with the best validation FHR; ties go to the smaller weight (closer to the model's own).

    >>> best_weight({0.0: 0.2, 0.5: 0.3, 1.0: 0.3})
    0.5
    """
    if not fhr:
        raise ValueError("no weights were tried")
    best = max(fhr.values())
    return min(weight for weight, value in fhr.items() if value >= best - 1e-12)
