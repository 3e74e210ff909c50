"""Simple baselines behind the same interface as the model: a ranked list of item ids per sample.

Each learns from the training part only (negatives before each user's validation cut) and never returns
an item the sample's seen rule excludes (`data.samples.seen_items`, method §2), like the SID model's decoding.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from .baseline_names import ALL_KINDS, BASELINES, FUSED_BASELINES, NEIGHBOUR_BASELINES, SASREC_VARIANTS
from .ease import fit_ease, rank_ease, sample_contexts
from .baseline_settings import BaselineSettings, NeighbourConfig
from .ease_config import EASEConfig
from .item_cf import rank_item_cf, training_matrix
from .sasrec_config import SASRecConfig
from ..errors import ConfigError
from ..rl.swing import read_neighbours_with_scores
from ..data.samples import read_samples, seen_items
from ..data.stats import training_negative_counts
from ..data.workspace import artifacts_dir, open_workspace, read_meta
from ..decoding.ensemble import fuse_ranks


def baseline_method(baseline: str, seed: int) -> str:
    """The method name a baseline's rows are kept under: a learnt one carries its seed, so seeds never overwrite
    each other.

    >>> baseline_method("most_disliked", 3), baseline_method("sasrec_both", 3)
    ('most_disliked', 'sasrec_both-s3')
    """
    return f"{baseline}-s{seed}" if baseline in SASREC_VARIANTS else baseline


# A learnt method's seed, or the seeds fused into it (`fused_method`): "-s3", "-s0-1-2".
SEEDS_SUFFIX = re.compile(r"-s(?P<seeds>\d+(?:-\d+)*)$")


def fused_method(method: str, seeds: list[int]) -> str:
    """The name of a learnt method's seeds fused into one ranking: its seed replaced by every fused seed.

    >>> fused_method("pipeline-grpo-s0", [0, 1, 2]), fused_method("sasrec_both-s3", [3, 5])
    ('pipeline-grpo-s0-1-2', 'sasrec_both-s3-5')
    """
    return SEEDS_SUFFIX.sub("", method) + "-s" + "-".join(str(seed) for seed in seeds)


def baseline_of(method: str) -> str | None:
    """The baseline a method name stands for, or None for a checkpoint.

    >>> baseline_of("sasrec_both-s3"), baseline_of("sasrec_both-s0-1-2"), baseline_of("pipeline-grpo-s0")
    ('sasrec_both', 'sasrec_both', None)
    """
    name = SEEDS_SUFFIX.sub("", method) if method.startswith(tuple(SASREC_VARIANTS)) else method
    return name if name in BASELINES else None


def most_disliked(popular: list[str], seen: set[str], k: int) -> list[str]:
    """The K most disliked items the user has not seen.

    >>> most_disliked(["a", "b", "c", "d"], {"b"}, 2)
    ['a', 'c']
    """
    ranked: list[str] = []
    for item in popular:
        if len(ranked) >= k:
            break
        if item not in seen:
            ranked.append(item)
    return ranked


def swing_cf(neighbours: dict[str, list[tuple[str, float]]], context_negatives: list[str], seen: set[str],
             popular: list[str], k: int, weights: dict[str, float] | None = None, top: int = 0) -> list[str]:
    """Item-CF on the negative graph: Σ over the user's negatives i of weight(i) · Swing(i, j), each i's `top` most
    similar neighbours only (0: all it has); popular items fill the rest.

    >>> near = {"a": [("x", 2.0), ("y", 1.0)], "b": [("y", 1.5)]}
    >>> swing_cf(near, ["a", "b"], {"a", "b"}, ["p", "x"], 3)
    ['y', 'x', 'p']
    >>> swing_cf(near, ["a", "b"], {"a", "b"}, ["p"], 3, weights={"a": 1.0, "b": 0.1}, top=1)
    ['x', 'y', 'p']
    """
    scores: dict[str, float] = defaultdict(float)
    for item in context_negatives:
        near = neighbours.get(item, [])
        for neighbour, score in near[:top] if top else near:
            if neighbour not in seen:
                scores[neighbour] += score * (1.0 if weights is None else weights.get(item, 1.0))
    ranked = [item for item, _ in sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))][:k]
    return ranked + most_disliked(popular, seen | set(ranked), k - len(ranked))


def training_groups(baselines: Sequence[str]) -> list[list[str]]:
    """`baselines` in groups that rank apart from each other (side by side, experiment/side_by_side.py): each
    SASRec model trained, with every variant that ranks with it (sasrec_prior ranks with sasrec_negatives'
    model), then the baselines that train nothing.

    >>> training_groups(["most_disliked", "sasrec_negatives", "sasrec_both", "sasrec_prior", "item_cf"])
    [['sasrec_negatives', 'sasrec_prior'], ['sasrec_both'], ['most_disliked', 'item_cf']]
    >>> training_groups(["swing_cf"])
    [['swing_cf']]
    """
    by_model: dict[bool, list[str]] = {}
    for baseline in baselines:
        if baseline in SASREC_VARIANTS:
            by_model.setdefault(SASREC_VARIANTS[baseline], []).append(baseline)
    untrained = [baseline for baseline in baselines if baseline not in SASREC_VARIANTS]
    return list(by_model.values()) + ([untrained] if untrained else [])


# The last SASRec trained, with what it was trained on: sasrec_prior ranks with the very model sasrec_negatives
# trains (same settings and seed, and training is deterministic), so evaluating both trains it once.
_LAST_SASREC: list[tuple[tuple, object]] = []


# Likewise the last EASE fitted: fused_baselines ranks with the very model the ease row just fitted.
_LAST_EASE: list[tuple[tuple, object]] = []


def _fitted_ease(workspace, config: EASEConfig):
    key = _fit_key(workspace, config)
    model = next((model for kept, model in _LAST_EASE if kept == key), None)
    if model is None:
        model = fit_ease(workspace, config)
        _LAST_EASE[:] = [(key, model)]
    return model


def _fit_key(workspace, config) -> tuple:
    """What a fitted model depends on: the workspace, its events and samples, and the model's settings."""
    with open_workspace(workspace) as con:
        events = con.execute("SELECT count(*), max(event_id) FROM events").fetchone()
        return str(Path(workspace).resolve()), tuple(events), read_meta(con, "samples_fingerprint"), config


def training_summary_path(workspace, method: str) -> Path:
    return artifacts_dir(workspace) / "baselines" / f"{method}.json"


def write_training_summary(workspace, method: str, summary: dict) -> None:
    """Keep where a learnt baseline's training stopped, for the report (`read_training_summary`)."""
    path = training_summary_path(workspace, method)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(summary))
    temporary.replace(path)


def read_training_summary(workspace, method: str) -> dict | None:
    try:
        return json.loads(training_summary_path(workspace, method).read_text())
    except (OSError, ValueError):
        return None


def rank_baseline(workspace, method: str, samples: pd.DataFrame, k: int = 20,
                  sasrec: SASRecConfig = SASRecConfig(), on_progress=None,
                  settings: BaselineSettings = BaselineSettings()) -> list[list[str]]:
    """Top-K item ids per sample (rows of `samples` from `read_samples`) for a baseline, never a seen item;
    the SASRec ones train first with `sasrec` (its kind of sequence set by the method's name)
    on the training part, stopped on validation; the untrained ones rank with their `settings`."""
    if method not in BASELINES:
        raise ConfigError(f"unknown baseline {method!r}; choose from {', '.join(BASELINES)}")
    seen = seen_items(workspace, samples["sample_id"])
    excluded = [set(seen[sample_id]) for sample_id in samples["sample_id"]]
    if method in SASREC_VARIANTS:
        from .sasrec import choose_sasrec_prior, rank_sasrec, train_sasrec

        with_positives = SASREC_VARIANTS[method]
        sasrec = settings.sasrec_for(with_positives, sasrec)
        config = replace(sasrec, with_positives=with_positives,
                         max_length=sasrec.positives_context if with_positives else sasrec.max_length)
        validation = read_samples(workspace, "validation")
        key = _fit_key(workspace, config)
        trained = next((model for kept, model in _LAST_SASREC if kept == key), None)
        if trained is None:
            trained = train_sasrec(workspace, config, validation=validation, on_progress=on_progress)
            _LAST_SASREC[:] = [(key, trained)]
        elif on_progress:
            on_progress(1.0, "SASRec: the model just trained with these settings")
        write_training_summary(workspace, baseline_method(method, sasrec.seed), trained.training_summary())
        if method != "sasrec_prior":
            return rank_sasrec(trained, samples, excluded, k)
        weight, prior, _ = choose_sasrec_prior(workspace, trained, validation, k)
        return rank_sasrec(trained, samples, excluded, k, prior=prior, weight=weight)
    with open_workspace(workspace) as con:
        popular = training_negative_counts(con)
    if method == "ease":
        contexts = sample_contexts(workspace, samples["sample_id"], settings.ease)
        return rank_ease(_fitted_ease(workspace, settings.ease), [contexts[int(s)] for s in samples["sample_id"]],
                         excluded, popular, k)
    if method == "fused_baselines":  # each fused baseline ranks twice K, so the fusion has depth to reorder
        members = [rank_baseline(workspace, member, samples, 2 * k, settings=settings) for member in FUSED_BASELINES]
        return [[item for item, _ in fuse_ranks(list(lists), k)] for lists in zip(*members)]
    if method in NEIGHBOUR_BASELINES:
        return rank_neighbours(workspace, method, samples, excluded, popular, k, getattr(settings, method))
    return [most_disliked(popular, seen_here, k) for seen_here in excluded]


def rank_neighbours(workspace, method: str, samples: pd.DataFrame, excluded: list[set[str]], popular: list[str],
                    k: int, config: NeighbourConfig) -> list[list[str]]:
    """Cosine item-CF, item-KNN and Swing item-CF: each sample's last `config.history` negatives (item-KNN: events
    of every kind), each weighted by its age with a half-life, their neighbours summed."""
    kinds = ALL_KINDS if method == "item_knn" else ("negative",)
    recent = sample_contexts(workspace, samples["sample_id"],
                             EASEConfig(negative_weight=1.0, positive_weight=1.0, neutral_weight=1.0,
                                        half_life_days=config.half_life_days, context_events=config.history), kinds)
    histories = [[item for item, _ in recent[int(s)]] for s in samples["sample_id"]]
    weights = [dict(recent[int(s)]) for s in samples["sample_id"]]
    with open_workspace(workspace) as con:
        if method == "swing_cf":
            neighbours = read_neighbours_with_scores(con)
        else:
            matrix, items = training_matrix(con, kinds)
    if method == "swing_cf":
        return [swing_cf(neighbours, history, seen, popular, k, weight, config.neighbours)
                for history, seen, weight in zip(histories, excluded, weights)]
    return rank_item_cf(matrix, items, histories, excluded, popular, k, config.history, weights, config.neighbours)
