"""Candidate accuracy (method §8): can the predicted-dislike set pick the real rejection out of a line-up?

Per sample: the next negative (the first future negative) among 19 other items the user met on the same
day (any event, never an item the user rejected at any time; in validation never after the test cut), ranked
by their largest cosine to the predicted set over unit SID vectors. The sample scores 1 when the real one
ranks first (ties share the credit). A day with fewer than 19 other items widens to the days around it (up to
3 each side: the synthetic feed shows about 15 items a day); with fewer still, the sample has no value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..semantic_ids.store import load_codebook
from ..data.workspace import open_workspace

LINE_UP = 20  # one real future negative and 19 others
MAX_DAYS_AWAY = 3  # a day with fewer than 19 other items widens to the days around it, up to this far


@dataclass
class LineUps:
    unit_vectors: np.ndarray  # (items, d) unit SID vectors
    rows_of: dict[str, int]
    line_ups: dict[int, tuple[int, list[int]]]  # sample_id -> (row of the next negative, rows of the others)


def line_up_score(predicted: np.ndarray, target: np.ndarray, others: np.ndarray) -> float:
    """1 when the target is closer to the predicted set than every other item; ties share the credit.

    >>> p = np.array([[1.0, 0.0]])
    >>> line_up_score(p, np.array([0.8, 0.6]), np.array([[0.0, 1.0], [0.6, 0.8]]))
    1.0
    >>> line_up_score(p, np.array([0.6, 0.8]), np.array([[0.6, 0.8], [0.0, 1.0]]))
    0.5
    """
    target_score = float((predicted @ target).max())
    other_scores = (others @ predicted.T).max(1)
    if (other_scores > target_score + 1e-9).any():
        return 0.0
    return 1.0 / (1 + int((np.abs(other_scores - target_score) <= 1e-9).sum()))


def build_line_ups(workspace, split: str, codebook: str = "default", seed: int = 0) -> LineUps:
    book = load_codebook(workspace, codebook)
    unit = book.unit_vectors()
    rows_of = book.sids.item_to_row
    with open_workspace(workspace) as con:
        rows = con.execute("""
            SELECT s.sample_id, s.next_negative,
                   list(e.item_id ORDER BY e.item_id) AS items,
                   list(abs(date_diff('day', date_trunc('day', s.anchor_ts), date_trunc('day', e.ts)))
                        ORDER BY e.item_id) AS days_away
            FROM samples s JOIN user_cuts c USING (user_id) JOIN events e ON e.user_id = s.user_id
                 AND e.ts >= date_trunc('day', s.anchor_ts) - to_days(?)
                 AND e.ts < date_trunc('day', s.anchor_ts) + to_days(? + 1)
                 -- a validation line-up never reaches into the test period
                 AND (s.split <> 'validation' OR e.ts < c.test_cut)
            WHERE s.split = ? AND NOT list_contains(s.future_negatives, e.item_id)
                  -- a distractor is never an item the user rejected, at any time
                  AND NOT EXISTS (SELECT 1 FROM events n WHERE n.user_id = s.user_id AND n.item_id = e.item_id
                                                          AND n.kind = 'negative')
            GROUP BY s.sample_id, s.next_negative""", [MAX_DAYS_AWAY, MAX_DAYS_AWAY, split]).fetchall()
    line_ups = {}
    for sample_id, target, items, days_away in rows:
        if target not in rows_of:
            continue
        for reach in range(MAX_DAYS_AWAY + 1):  # the anchor's day first, then a day more each side
            others = sorted({rows_of[i] for i, away in zip(items, days_away) if away <= reach and i in rows_of})
            if len(others) >= LINE_UP - 1:
                chosen = np.random.default_rng([seed, sample_id]).choice(len(others), LINE_UP - 1, replace=False)
                line_ups[sample_id] = (rows_of[target], [others[i] for i in sorted(chosen)])
                break
    return LineUps(unit, rows_of, line_ups)


def candidate_accuracy(line_ups: LineUps, sample_id: int, ranked: list[str]) -> float | None:
    entry = line_ups.line_ups.get(sample_id)
    predicted = [line_ups.rows_of[i] for i in ranked if i in line_ups.rows_of]
    if entry is None or not predicted:
        return None
    target, others = entry
    unit = line_ups.unit_vectors
    return line_up_score(unit[predicted], unit[target], unit[others])
