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

# rank_item_cf's history when none is given; the pipeline's come from BaselineSettings (docs/decisions.md#item-cf)
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
                 fallback: list[str], k: int, history: int = HISTORY, weights: list[dict[str, float]] | None = None,
                 neighbours: int = 0) -> list[list[str]]:
    """Top-K items per sample by summed cosine over its last `history` items (`weights`: each one's weight in its
    sample, e.g. by age; default 1); with `neighbours`, only each history item's most similar that many count.
    `fallback` (most disliked first) fills a list the neighbours leave short; never an item of the sample's
    `excluded` set."""
    column = {item: i for i, item in enumerate(items)}
    counts = np.asarray(matrix.sum(0)).ravel()
    scale = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    transposed = matrix.T.tocsr()
    recent = [[column[i] for i in dict.fromkeys(list(h)[-history:]) if i in column] for h in histories]
    weight = [[1.0 if weights is None else weights[n].get(items[c], 1.0) for c in cols]
              for n, cols in enumerate(recent)]
    batch = BATCH if not neighbours else max(1, BATCH // 16)  # one score column per history item then
    rankings = []
    for start in range(0, len(histories), batch):
        chunk = range(start, min(start + batch, len(histories)))
        if neighbours:
            pairs = [(n, c, w) for n in chunk for c, w in zip(recent[n], weight[n])]
            query = csr_matrix((np.asarray([scale[c] for _, c, _ in pairs], dtype=np.float32),
                                (range(len(pairs)), [c for _, c, _ in pairs])), shape=(len(pairs), len(items)))
            per_item = (transposed @ (matrix @ query.T)).toarray() * scale[:, None]  # items x pairs
            keep_top(per_item, neighbours)
            mixing = csr_matrix((np.asarray([w for _, _, w in pairs], dtype=np.float32),
                                 (range(len(pairs)), [n - start for n, _, _ in pairs])),
                                shape=(len(pairs), len(chunk)))
            scores = np.asarray(per_item @ mixing.toarray())
        else:
            q_rows = [n - start for n in chunk for _ in recent[n]]
            q_cols = [c for n in chunk for c in recent[n]]
            q_vals = [scale[c] * w for n in chunk for c, w in zip(recent[n], weight[n])]
            query = csr_matrix((np.asarray(q_vals, dtype=np.float32), (q_rows, q_cols)),
                               shape=(len(chunk), len(items)))
            scores = (transposed @ (matrix @ query.T)).toarray() * scale[:, None]  # items x chunk
        for row, n in enumerate(chunk):
            rankings.append(top_items(scores[:, row], items, excluded[n], fallback, k))
    return rankings


def keep_top(scores: np.ndarray, n: int) -> None:
    """Zero, in place, all but each column's `n` largest entries.

    >>> a = np.array([[3.0, 1.0], [2.0, 5.0], [1.0, 4.0]])
    >>> keep_top(a, 1); a.tolist()
    [[3.0, 0.0], [0.0, 5.0], [0.0, 0.0]]
    """
    if n >= scores.shape[0]:
        return
    cut = np.argpartition(-scores, n, axis=0)[n:]
    np.put_along_axis(scores, cut, 0.0, axis=0)


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
