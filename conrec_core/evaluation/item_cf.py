"""Item-item CF on the negatives: cosine co-dislike, summed over a user's most recent negatives.

With X the binary user x item matrix of training negatives (before each user's validation cut) and n_i the
dislikes of item i, cos(i, j) = (XᵀX)_ij / sqrt(n_i n_j). A sample's score for item j is the sum of cos(i, j)
over its `history` most recent negatives i, computed for a batch of samples as two sparse products
(S = diag(n)^-½ Xᵀ X Qᵀ, with Q holding n_i^-½ at each sample's recent items), never as the item x item matrix.
On small catalogues this is the strongest long-tail baseline there is: it can rank an item disliked by two
users as readily as a popular one.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

# Most recent negatives a sample's scores sum over: the SID model's prompt length (docs/decisions.md#item-cf).
HISTORY = 20
BATCH = 512  # samples scored per pair of sparse products (an items x BATCH dense block)


def training_matrix(con, kinds: tuple[str, ...] = ("negative",)) -> tuple[csr_matrix, list[str]]:
    """(users x items binary matrix of the training part's events of `kinds`, item ids of its columns)."""
    rows = con.execute("""
        SELECT DISTINCT e.user_id, e.item_id FROM events e JOIN user_cuts c USING (user_id)
        WHERE list_contains(?, e.kind) AND e.ts < c.validation_cut""", [list(kinds)]).fetchall()
    users = {u: i for i, u in enumerate(sorted({u for u, _ in rows}))}
    items = sorted({i for _, i in rows})
    columns = {item: i for i, item in enumerate(items)}
    matrix = csr_matrix((np.ones(len(rows), dtype=np.float32),
                         ([users[u] for u, _ in rows], [columns[i] for _, i in rows])),
                        shape=(len(users), len(items)))
    return matrix, items


def rank_item_cf(matrix: csr_matrix, items: list[str], histories: list[list[str]], excluded: list[set[str]],
                 fallback: list[str], k: int, history: int = HISTORY) -> list[list[str]]:
    """Top-K items per sample by summed cosine over its last `history` negatives; `fallback` (most disliked
    first) fills a list the neighbours leave short; never an item of the sample's `excluded` set."""
    column = {item: i for i, item in enumerate(items)}
    counts = np.asarray(matrix.sum(0)).ravel()
    scale = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    transposed = matrix.T.tocsr()
    rankings = []
    for start in range(0, len(histories), BATCH):
        chunk = histories[start:start + BATCH]
        q_rows, q_cols = [], []
        for row, negatives in enumerate(chunk):
            recent = {column[i] for i in list(negatives)[-history:] if i in column}
            q_rows.extend([row] * len(recent))
            q_cols.extend(recent)
        query = csr_matrix((scale[q_cols].astype(np.float32), (q_rows, q_cols)), shape=(len(chunk), len(items)))
        scores = (transposed @ (matrix @ query.T)).toarray() * scale[:, None]  # items x chunk
        for row in range(len(chunk)):
            rankings.append(top_items(scores[:, row], items, excluded[start + row], fallback, k))
    return rankings


def top_items(scores: np.ndarray, items: list[str], excluded: set[str], fallback: list[str], k: int) -> list[str]:
    """The K best-scoring items with a positive score outside `excluded`, then `fallback`'s.

    >>> top_items(np.array([0.5, 0.0, 0.9]), ["a", "b", "c"], {"c"}, ["b", "d"], 3)
    ['a', 'b', 'd']
    """
    ranked: list[str] = []
    for index in np.argsort(-scores, kind="stable"):
        if scores[index] <= 0 or len(ranked) >= k:
            break
        if items[index] not in excluded:
            ranked.append(items[index])
    for item in fallback:
        if len(ranked) >= k:
            break
        if item not in excluded and item not in ranked:
            ranked.append(item)
    return ranked
