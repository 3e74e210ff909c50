"""EASE (Steck, WWW 2019) over every kind of event, times each item's dislike rate: the linear baseline a
reviewer tries first, and the one that reads the whole stream of items a user meets.

With X the users x items matrix of the training part (each user's events before their validation cut; a cell is
the weight of the event's kind, the larger where a user met an item twice), EASE fits the item-item weights
B = argmin ||X - XB||² + λ||B||² with diag(B) = 0, in closed form: P = (XᵀX + λI)⁻¹, B_ij = -P_ij / P_jj.
A sample's context c holds its user's last events before the anchor, kind-weighted and halved every
`half_life_days` of age; (cB)_j says how likely the user meets item j next. The training part's dislike rate
r_j = (negatives_j + 1) / (events_j + 2) says how likely a met item is rejected, so items rank by
max(cB, 0)_j · r_j^power; the most disliked unseen items fill a list the scores leave short. Never a seen item.

    >>> X = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1]], dtype=np.float64)
    >>> B = ease_weights(X.T @ X, 1.0)
    >>> bool(B[0, 1] > B[0, 2]), float(B[1, 1])  # a and b are met together; an item never predicts itself
    (True, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from ..data.stats import training_dislike_rates
from ..data.workspace import open_workspace
from .baseline_names import ALL_KINDS
from .ease_config import EASEConfig
from .item_cf import BATCH, top_items

KIND_WEIGHT_SQL = "CASE kind WHEN 'negative' THEN ? WHEN 'positive' THEN ? ELSE ? END"


@dataclass
class EASEModel:
    items: list[str]
    weights: np.ndarray  # items x items, float32, zero diagonal
    dislike_rate: np.ndarray  # per item, (negatives + 1) / (events + 2) in the training part
    config: EASEConfig

    @property
    def column(self) -> dict[str, int]:
        return {item: i for i, item in enumerate(self.items)}


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """B from the Gram matrix XᵀX: P = (XᵀX + λI)⁻¹, B_ij = -P_ij / P_jj, diag(B) = 0. `gram` (float64) is
    overwritten: at 20,000 items each dense copy is 3.2 GB."""
    gram[np.diag_indices_from(gram)] += l2
    weights = np.linalg.inv(gram)
    del gram
    weights /= -np.diag(weights).copy()[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def kind_weights(config: EASEConfig) -> list[float]:
    return [config.negative_weight, config.positive_weight, config.neutral_weight]


def fit_ease(workspace, config: EASEConfig = EASEConfig()) -> EASEModel:
    """EASE on the workspace's training part, over its `max_items` most-met items."""
    with open_workspace(workspace) as con:
        con.execute("""
            CREATE TEMP TABLE training AS
            SELECT e.user_id, e.item_id, e.kind FROM events e JOIN user_cuts c USING (user_id)
            WHERE e.ts < c.validation_cut""")
        stats = con.execute("""
            SELECT item_id, count(DISTINCT user_id) AS users, count(*) FILTER (WHERE kind = 'negative'), count(*)
            FROM training GROUP BY item_id ORDER BY users DESC, item_id LIMIT ?""", [config.max_items]).fetchall()
        rates = training_dislike_rates(con, [item for item, *_ in stats])
        items = [item for item, *_ in stats]
        # each user's row and each kept item's column as integers, users in id order as the rows always were
        cells = con.execute(f"""
            WITH columns AS (SELECT item_id, column_index FROM (SELECT unnest(?::VARCHAR[]) AS item_id,
                                                                       generate_subscripts(?::VARCHAR[], 1) - 1
                                                                       AS column_index))
            SELECT dense_rank() OVER (ORDER BY user_id) - 1 AS row_index, column_index,
                   max({KIND_WEIGHT_SQL}) AS weight
            FROM training JOIN columns USING (item_id) GROUP BY user_id, column_index""",
                            [items, items, *kind_weights(config)]).fetchnumpy()
    users = int(cells["row_index"].max()) + 1 if len(cells["row_index"]) else 0
    matrix = csr_matrix((cells["weight"].astype(np.float64), (cells["row_index"], cells["column_index"])),
                        shape=(users, len(items)))
    weights = ease_weights((matrix.T @ matrix).toarray(), config.l2).astype(np.float32)
    rate = rates.astype(np.float32)
    return EASEModel(items, weights, rate, config)


def sample_contexts(workspace, sample_ids, config: EASEConfig, kinds: tuple[str, ...] = ALL_KINDS
                    ) -> dict[int, list[tuple[str, float]]]:
    """Per sample: its user's last `context_events` events of `kinds` before the anchor as (item, weight), oldest
    first, each weighted by its kind and, with a half-life, by its age (an item met twice keeps its larger
    weight)."""
    decay = 0.0 if config.half_life_days is None else np.log(2) / config.half_life_days
    with open_workspace(workspace) as con:
        con.execute("CREATE TEMP TABLE wanted AS SELECT unnest(?::BIGINT[]) AS sample_id", [[int(i) for i in sample_ids]])
        rows = con.execute(f"""
            WITH history AS (
                SELECT s.sample_id, e.item_id, {KIND_WEIGHT_SQL.replace('kind', 'e.kind')} AS weight,
                       date_diff('second', e.ts, s.anchor_ts) / 86400.0 AS age,
                       row_number() OVER (PARTITION BY s.sample_id ORDER BY e.ts DESC, e.event_id DESC) AS recency
                FROM samples s JOIN wanted USING (sample_id) JOIN events e ON e.user_id = s.user_id
                     AND (e.ts < s.anchor_ts OR (e.ts = s.anchor_ts AND e.event_id < s.anchor_event_id))
                WHERE list_contains(?, e.kind))
            SELECT sample_id, item_id, max(weight * exp(-? * age)) FROM history WHERE recency <= ?
            GROUP BY sample_id, item_id ORDER BY sample_id, min(recency) DESC""",
                           [*kind_weights(config), list(kinds), decay, config.context_events]).fetchall()
    contexts: dict[int, list[tuple[str, float]]] = {int(i): [] for i in sample_ids}
    for sample_id, item, weight in rows:
        contexts[sample_id].append((item, weight))
    return contexts


def rank_ease(model: EASEModel, contexts: list[list[tuple[str, float]]], excluded: list[set[str]],
              fallback: list[str], k: int) -> list[list[str]]:
    """Top-K items per sample by max(cB, 0) times the dislike rate to the configured power; `fallback` (most
    disliked first) fills a list the scores leave short; never an item of the sample's `excluded` set."""
    column = model.column
    boost = model.dislike_rate ** model.config.dislike_power
    rankings = []
    for start in range(0, len(contexts), BATCH):
        chunk = contexts[start:start + BATCH]
        rows, columns, values = [], [], []
        for row, context in enumerate(chunk):
            for item, weight in context:
                if item in column and weight > 0:
                    rows.append(row), columns.append(column[item]), values.append(weight)
        query = csr_matrix((np.asarray(values, dtype=np.float32), (rows, columns)),
                           shape=(len(chunk), len(model.items)))
        scores = np.maximum(query @ model.weights, 0.0) * boost[None, :]
        for row in range(len(chunk)):
            rankings.append(top_items(scores[row], model.items, excluded[start + row], fallback, k))
    return rankings
