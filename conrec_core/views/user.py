"""One user's story for the inspector: history, predicted dislikes against the future window, metrics."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import ConfigError
from ..rl.swing import swing_built, swing_table
from ..semantic_ids.sids import matching_levels
from ..data.workspace import open_workspace


USER_METRICS = ("fhr", "hr", "ndcg")


@dataclass
class UserView:
    history: pd.DataFrame  # the user's negative and positive events: ts, kind, item_id, title, category, split
    samples: pd.DataFrame  # the user's samples of the split: sample_id, anchor_ts, window_end, next_negative
    predictions: pd.DataFrame  # sample_id, rank, item_id, title, sid, exact_hit, shared_levels
    future: pd.DataFrame  # sample_id, item_id, title, sid, predicted, long_tail_item
    metrics: pd.DataFrame  # the user's per-sample metrics, every method scored on the split


def user_view(workspace, user_id: str, checkpoint: str | None, split: str = "test",
              codebook: str = "default") -> UserView:
    with open_workspace(workspace) as con:
        history = con.execute("""
            SELECT e.ts, e.kind, e.item_id, coalesce(i.title, e.item_id) AS title, i.category,
                   CASE WHEN e.ts < c.validation_cut THEN 'train' WHEN e.ts < c.test_cut THEN 'validation'
                        ELSE 'test' END AS split
            FROM events e JOIN user_cuts c USING (user_id) LEFT JOIN items i USING (item_id)
            WHERE e.user_id = ? AND e.kind IN ('negative', 'positive') ORDER BY e.ts, e.event_id""",
                              [user_id]).df()
        samples = con.execute("""SELECT sample_id, anchor_ts, window_end, next_negative, future_negatives
                                 FROM samples WHERE user_id = ? AND split = ? ORDER BY anchor_ts""",
                              [user_id, split]).df()
        predictions = pd.DataFrame(columns=["sample_id", "rank", "item_id", "sid", "score"])
        if checkpoint:
            predictions = con.execute("""SELECT sample_id, rank, item_id, sid, score FROM predictions
                                         WHERE checkpoint = ? AND user_id = ? ORDER BY sample_id, rank""",
                                      [checkpoint, user_id]).df()
        metrics = con.execute("""SELECT method, sample_id, k, hr, fhr, ndcg, lif, candidate_accuracy, long_tail_user
                                 FROM sample_metrics
                                 WHERE user_id = ? AND split = ? ORDER BY method, sample_id""",
                              [user_id, split]).df()
        levels = con.execute("SELECT CAST(json_extract(config, '$.levels') AS INTEGER) FROM codebooks WHERE name = ?",
                             [codebook]).fetchall()
        # only this user's items: reading the whole catalogue costs seconds per rerun on a large one
        wanted = sorted({str(i) for items in samples["future_negatives"] for i in items}
                        | set(predictions["item_id"].astype(str)))
        catalogue = con.execute("""
            SELECT i.item_id, coalesce(i.title, i.item_id), s.sid, s.codes, coalesce(t.long_tail_item, false)
            FROM items i LEFT JOIN item_sids s ON s.item_id = i.item_id AND s.codebook = ?
                         LEFT JOIN item_stats t ON t.item_id = i.item_id
            WHERE list_contains(?, i.item_id)""", [codebook, wanted]).fetchall()
    titles = {row[0]: row[1] for row in catalogue}
    sids = {row[0]: row[2] for row in catalogue if row[2] is not None}
    codes = {row[0]: row[3] for row in catalogue if row[3] is not None}
    tail = {row[0] for row in catalogue if row[4]}
    depth = levels[0][0] if levels else 0
    futures = {row.sample_id: list(row.future_negatives) for row in samples.itertuples()}
    predictions = predictions[predictions["sample_id"].isin(futures)].copy()
    predictions["title"] = predictions["item_id"].map(titles)
    predictions["exact_hit"] = [item in futures[s] for s, item in zip(predictions["sample_id"], predictions["item_id"])]
    predictions["shared_levels"] = [
        max((matching_levels(tuple(codes[item][:depth]), tuple(codes[f][:depth])) for f in futures[s] if f in codes
             and item in codes), default=0)
        for s, item in zip(predictions["sample_id"], predictions["item_id"])]
    predicted = {(s, i) for s, i in zip(predictions["sample_id"], predictions["item_id"])}
    future = pd.DataFrame([{"sample_id": s, "item_id": item, "title": titles.get(item, item), "sid": sids.get(item),
                            "predicted": (s, item) in predicted, "long_tail_item": item in tail}
                           for s, items in futures.items() for item in dict.fromkeys(items)])
    return UserView(history, samples.drop(columns="future_negatives"), predictions, future, metrics)


def ranked_users(workspace, method: str, split: str = "test", metric: str = "fhr", count: int = 10
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(best, worst) users of a method by their mean per-sample metric, ties broken by sample count."""
    if metric not in USER_METRICS:
        raise ConfigError(f"metric must be one of {', '.join(USER_METRICS)}")
    with open_workspace(workspace) as con:
        frame = con.execute(f"""SELECT user_id, avg({metric}) AS {metric}, count(*) AS samples FROM sample_metrics
                                WHERE method = ? AND split = ? GROUP BY user_id""", [method, split]).df()
    best = frame.sort_values([metric, "samples", "user_id"], ascending=[False, False, True]).head(count)
    worst = frame.sort_values([metric, "samples", "user_id"], ascending=[True, False, True]).head(count)
    return best.reset_index(drop=True), worst.reset_index(drop=True)


def predicted_users(workspace) -> pd.DataFrame:
    """(checkpoint, user_id) pairs with stored predictions for test samples: whom the inspector can show."""
    with open_workspace(workspace) as con:
        return con.execute("""SELECT DISTINCT p.checkpoint, p.user_id FROM predictions p JOIN samples s USING (sample_id)
                              WHERE s.split = 'test' ORDER BY p.checkpoint, p.user_id""").df()


def swing_neighbours_of(workspace, item_id: str) -> pd.DataFrame | None:
    """An item's Swing neighbours with titles; None while the workspace has no Swing table."""
    with open_workspace(workspace) as con:
        return swing_table(con, item_id) if swing_built(con) else None
