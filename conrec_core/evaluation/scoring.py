"""Per-sample metrics of any method, kept in the workspace, and their summary with intervals (method §8).

A method is a checkpoint (its predictions) or a baseline. Every metric is stored per sample, so any
slice (long-tail users, a date range, a filter on another metric) is recomputed from the table.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from .baselines import baseline_method, baseline_of, rank_baseline
from .baseline_runs import forget_run, record_run, run_kept, run_key
from .candidates import LineUps, build_line_ups, candidate_accuracy
from .intervals import bootstrap_interval, paired_test
from ..errors import ConrecError
from ..metrics import future_hit_rate, hit_rate, long_tail_future_hit_rate, ndcg
from ..data.samples import long_tail_items, read_samples
from .baseline_settings import BaselineSettings
from .sasrec_config import SASRecConfig
from .true_dislikes import TrueDislikes, load_true_dislikes
from ..data.workspace import RESULT_LOCK_TIMEOUT, open_workspace
from ..semantic_ids.store import list_codebooks

METRICS = ("hr", "fhr", "luf", "lif", "ndcg", "candidate_accuracy", "invalid_rate")
EXTRA_METRICS = ("true_dislike_share",)  # summarised where the workspace can compute them
LABELS = {"hr": "HR", "fhr": "FHR", "luf": "LUF", "lif": "LIF", "ndcg": "NDCG", "candidate_accuracy": "CandAcc",
          "invalid_rate": "Invalid",
          "true_dislike_share": "TrueDislike"}


def sample_metrics(samples: pd.DataFrame, rankings: list[list[str]], long_tail_items: set[str],
                   k: int, line_ups: LineUps | None = None, truth: TrueDislikes | None = None) -> pd.DataFrame:
    """One row of metrics per sample; `samples` holds sample_id, user_id, next_negative, future_negatives and
    long_tail_user, `rankings[i]` the method's ranked item ids for sample i."""
    rows = []
    for sample, ranked in zip(samples.itertuples(), rankings):
        future = list(sample.future_negatives)
        rows.append({"sample_id": sample.sample_id, "user_id": sample.user_id, "k": k,
                     "hr": hit_rate(ranked, sample.next_negative, k), "fhr": future_hit_rate(ranked, future, k),
                     "ndcg": ndcg(ranked, future, k),
                     "lif": long_tail_future_hit_rate(ranked, future, long_tail_items, k),
                     "candidate_accuracy": candidate_accuracy(line_ups, sample.sample_id, ranked[:k])
                     if line_ups else None,
                     "invalid_rate": (k - len(ranked[:k])) / k,
                     "long_tail_user": bool(sample.long_tail_user),
                     "true_dislike_share": truth.share(sample.user_id, list(ranked[:k])) if truth else None,
                     "ranked": [str(item) for item in ranked[:k]]})
    return pd.DataFrame(rows)


def store_metrics(workspace, method: str, split: str, metrics: pd.DataFrame) -> None:
    frame = metrics.assign(method=method, split=split,
                           created_at=datetime.now(timezone.utc).replace(tzinfo=None))
    with open_workspace(workspace, read_only=False, lock_timeout=RESULT_LOCK_TIMEOUT) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM sample_metrics WHERE method = ? AND split = ?", [method, split])
        con.register("new_metrics", frame)
        con.execute("INSERT INTO sample_metrics BY NAME SELECT method, split, sample_id, user_id, k, hr, fhr, ndcg, "
                    "lif, candidate_accuracy, invalid_rate, long_tail_user, true_dislike_share, ranked, "
                    "created_at FROM new_metrics")
        con.execute("COMMIT")


def line_ups_if_possible(workspace, split: str, codebook: str = "default") -> LineUps | None:
    """The candidate line-ups, which need SID vectors: None while the workspace has no codebook (no baseline
    needs one, so the other metrics are computed all the same)."""
    if codebook not in {book["name"] for book in list_codebooks(workspace)}:
        return None
    return build_line_ups(workspace, split, codebook)


def evaluate_rankings(workspace, method: str, split: str, samples: pd.DataFrame, rankings: list[list[str]],
                      k: int = 20) -> pd.DataFrame:
    metrics = sample_metrics(samples, rankings, long_tail_items(workspace), k, line_ups_if_possible(workspace, split),
                             load_true_dislikes(workspace))
    store_metrics(workspace, method, split, metrics)
    return metrics


def evaluate_baseline(workspace, method: str, split: str = "test", k: int = 20,
                      sasrec: SASRecConfig = SASRecConfig(), on_progress=None,
                      settings: BaselineSettings = BaselineSettings()) -> pd.DataFrame:
    """Rank and score a baseline; its rows are kept under `baseline_method(method, sasrec.seed)`, with a record of
    what they depend on (`baseline_runs`)."""
    samples = read_samples(workspace, split)
    stored_as = baseline_method(method, sasrec.seed)
    key = run_key(workspace, method, stored_as, split, k, sasrec, settings)
    forget_run(workspace, stored_as, split)
    metrics = evaluate_rankings(workspace, stored_as, split, samples,
                                rank_baseline(workspace, method, samples, k, sasrec, on_progress, settings), k)
    record_run(workspace, stored_as, split, key, len(metrics))
    return metrics


def evaluate_baselines(workspace, baselines: list[str], split: str, k: int, sasrec: SASRecConfig,
                       settings: BaselineSettings = BaselineSettings(), on_progress=None) -> list[str]:
    """`evaluate_baseline` for each of `baselines` in turn, one progress bar over them all (a job of the
    pipeline's baselines side by side: experiment/side_by_side.py), except those whose stored rows were scored
    with exactly these settings, on these events, samples and code (`baseline_runs.run_kept`); returns those."""
    progress = on_progress or (lambda fraction, message: None)
    kept = []
    for index, baseline in enumerate(baselines):
        stored_as = baseline_method(baseline, sasrec.seed)
        if run_kept(workspace, stored_as, split, run_key(workspace, baseline, stored_as, split, k, sasrec, settings)):
            kept.append(baseline)
            progress((index + 1) / len(baselines), f"kept {baseline}: scored with these settings on these samples")
            continue
        progress(index / len(baselines), f"{baseline}: fitting and ranking the {split} samples")
        evaluate_baseline(workspace, baseline, split, k, sasrec, settings=settings,
                          on_progress=lambda fraction, message, i=index:
                          progress((i + fraction) / len(baselines), f"{baselines[i]}: {message}"))
    return kept


def evaluate_predictions(workspace, checkpoint: str, split: str = "test", k: int = 20) -> pd.DataFrame:
    """Metrics at K of a checkpoint's stored predictions for the split's samples (those it predicted); a
    sample with fewer than K stored predictions counts the missing ones as invalid. Refuses predictions made
    with fewer than K per sample (`predict --top-k`): they would be scored at another K than the baselines."""
    samples = read_samples(workspace, split)
    with open_workspace(workspace) as con:
        stored = con.execute("""SELECT sample_id, list(item_id ORDER BY rank) AS ranked, max(rank) AS k
                                FROM predictions WHERE checkpoint = ? GROUP BY sample_id""", [checkpoint]).df() \

    samples = samples.merge(stored, on="sample_id")
    if samples.empty:
        raise ConrecError(f"checkpoint {checkpoint!r} has no predictions for {split} samples: run predict first")
    decoded = int(samples["k"].max())
    if decoded < k:
        raise ConrecError(f"checkpoint {checkpoint!r} has {decoded} predictions per sample, fewer than K = {k}: "
                          f"predict again with --top-k {k}, or evaluate at --k {decoded}")
    return evaluate_rankings(workspace, checkpoint, split, samples, [list(r)[:k] for r in samples["ranked"]], k)


def read_sample_metrics(workspace, split: str = "test") -> pd.DataFrame:
    with open_workspace(workspace) as con:
        return con.execute("SELECT * FROM sample_metrics WHERE split = ? ORDER BY method, sample_id", [split]).df()


def metric_values(frame: pd.DataFrame, metric: str) -> pd.Series:
    """Per-sample values of a metric over its population (LUF: long-tail users; LIF: samples with a
    long-tail future negative), indexed like `frame`."""
    if metric == "luf":
        return frame.loc[frame["long_tail_user"], "fhr"]
    return frame[metric].dropna()


def comparable(metrics: pd.DataFrame) -> None:
    """Refuse to compare methods scored at different K or on different samples (a `--users` subset, say)."""
    if metrics.empty:
        return
    ks = metrics.groupby("method", sort=False)["k"].max()
    if ks.nunique() > 1:
        raise ConrecError("methods were scored at different K (" + ", ".join(f"{m} @{k}" for m, k in ks.items())
                          + "): evaluate them again at one --k")
    sets = metrics.groupby("method", sort=False)["sample_id"].apply(frozenset)
    if sets.nunique() > 1:
        common = frozenset.intersection(*sets)
        raise ConrecError("methods were scored on different samples (" + ", ".join(
            f"{m}: {len(s):,}" for m, s in sets.items()) + f"; {len(common):,} in common): predict every "
            "checkpoint for the whole split, or compare them with `common_samples`")


def common_samples(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows of the samples every method scored (what a side-by-side view may compare)."""
    if metrics.empty:
        return metrics
    sets = metrics.groupby("method", sort=False)["sample_id"].apply(frozenset)
    return metrics[metrics["sample_id"].isin(frozenset.intersection(*sets))]


def summarise(metrics: pd.DataFrame, baselines: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per method and metric: mean with a 95% cluster-bootstrap interval (users resampled) and how many users
    and samples it rests on; FHR tested against the best baseline by FHR, and LIF against the best by LIF (paired,
    signs flipped per user), where `baselines` names the baseline kinds (a learnt one's rows carry its seed). Every
    method must be scored at one K on the same samples (`comparable`)."""
    comparable(metrics)
    rows = []
    for method, frame in metrics.groupby("method", sort=False):
        row = {"method": method, "samples": len(frame), "users": int(frame["user_id"].nunique()),
               "k": int(frame["k"].max())}
        for metric in METRICS + EXTRA_METRICS:
            values = metric_values(frame, metric) if metric in frame or metric == "luf" else pd.Series(dtype=float)
            interval = bootstrap_interval(values.tolist(), frame.loc[values.index, "user_id"].tolist())
            row[metric] = interval.value if interval else None
            row[f"{metric}_low"] = interval.low if interval else None
            row[f"{metric}_high"] = interval.high if interval else None
        rows.append(row)
    table = pd.DataFrame(rows)
    known = [m for m in table.get("method", []) if baseline_of(m) in baselines]
    for metric, best_column in (("fhr", "best_baseline"), ("lif", "best_lif_baseline")):
        scored = [m for m in known if pd.notna(table.loc[table["method"] == m, metric].iloc[0])]
        if scored:
            best = max(scored, key=lambda b: float(table.loc[table["method"] == b, metric].iloc[0]))
            table[best_column] = best
            table[f"{metric}_p_value"] = table["method"].map(paired_p_values(metrics, best, metric))
    return table


def paired_p_values(metrics: pd.DataFrame, reference: str, metric: str) -> dict[str, float]:
    """Each other method's p of a paired sign-flip test of `metric` against `reference`'s, over the samples where
    both have it (LIF: those with a long-tail future negative), signs flipped per user."""
    base = metric_values(metrics[metrics["method"] == reference].set_index("sample_id"), metric)
    tests = {}
    for method, frame in metrics.groupby("method", sort=False):
        frame = frame.set_index("sample_id")
        paired = frame.loc[metric_values(frame, metric).index, [metric, "user_id"]].join(base.rename("base"),
                                                                                        how="inner")
        if method != reference and len(paired):
            tests[method] = paired_test(paired[metric], paired["base"], paired["user_id"])["p_value"]
    return tests
