"""Each learnt method's seeds fused into one ranking per sample, scored and summarised like any method.

Seeds of one setting disagree on MovieLens small by more than most modelling changes move FHR@20, and their
errors differ: the top 20 of three SFT seeds fused beat every one of them on validation. The fusion is reciprocal-rank fusion (`decoding.ensemble.fuse_ranks`) of the top K each seed's
run scored, read from `sample_metrics.ranked`, so it needs no model and works for baselines too. That matters for
fairness: a fused SID model is compared with SASRec's seeds fused the same way, not with one SASRec seed.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from ..data.samples import read_samples
from ..data.workspace import open_workspace
from ..errors import ConrecError
from ..decoding.ensemble import fuse_ranks
from ..evaluation.baselines import fused_method
from ..evaluation.scoring import evaluate_rankings, read_sample_metrics, summarise


def fuse_methods(workspace, members: list[str], name: str, split: str = "test") -> pd.DataFrame:
    """Store method `name`: for every `split` sample, the members' stored top-K rankings fused. Refuses members
    scored at different K, on different samples, or before rankings were kept (schema version 3)."""
    if len(set(members)) < 2 or name in members:
        raise ConrecError(f"fusing needs two or more distinct methods other than {name!r}, got {members}")
    with open_workspace(workspace) as con:
        rows = con.execute("""SELECT method, sample_id, k, ranked FROM sample_metrics
                              WHERE split = ? AND list_contains(?, method)""", [split, members]).fetchall()
    rankings: dict[str, dict[int, list[str]]] = defaultdict(dict)
    ks = set()
    for method, sample_id, k, ranked in rows:
        if ranked is None:
            raise ConrecError(f"{method!r} was scored before conrec kept rankings: evaluate it again on {split}")
        rankings[method][sample_id] = ranked
        ks.add(k)
    missing = [m for m in members if m not in rankings]
    if missing:
        raise ConrecError(f"no {split} metrics for {', '.join(map(repr, missing))}: evaluate them first")
    if len(ks) != 1:
        raise ConrecError(f"{', '.join(members)} were scored at different K ({sorted(ks)}): evaluate them at one K")
    sample_sets = {frozenset(by_sample) for by_sample in rankings.values()}
    if len(sample_sets) != 1:
        raise ConrecError(f"{', '.join(members)} were scored on different {split} samples: evaluate them on the "
                          "whole split")
    k = ks.pop()
    samples = read_samples(workspace, split)
    samples = samples[samples["sample_id"].isin(sample_sets.pop())].reset_index(drop=True)
    fused = [[item for item, _ in fuse_ranks([rankings[m][sample_id] for m in members], k)]
             for sample_id in samples["sample_id"]]
    return evaluate_rankings(workspace, name, split, samples, fused, k)


def fuse_seeds(workspace, methods_by_seed: dict[int, list[str]], split: str = "test",
               baselines: tuple[str, ...] = ()) -> pd.DataFrame:
    """`summarise` of the seed runs' methods fused: `methods_by_seed[seed]` lists one run's methods, in the same
    order in every run. A method whose name differs between runs (it carries its seed) is fused over the seeds
    into `fused_method(name, seeds)`; one that does not (a deterministic baseline) is taken as it is. The paired
    test is against the best of these baselines (`baselines`: their kinds), fused ones included."""
    seeds = sorted(methods_by_seed)
    runs = [methods_by_seed[seed] for seed in seeds]
    if len(seeds) < 2 or len({len(methods) for methods in runs}) != 1:
        raise ConrecError(f"fusing seeds needs two or more runs of the same methods, got {methods_by_seed}")
    methods = []
    for names in zip(*runs):
        if len(set(names)) == 1:
            methods.append(names[0])
            continue
        methods.append(fused_method(names[0], seeds))
        fuse_methods(workspace, list(names), methods[-1], split)
    metrics = read_sample_metrics(workspace, split)
    summary = summarise(metrics[metrics["method"].isin(methods)], baselines)
    return summary.sort_values("method", key=lambda names: names.map(methods.index), ignore_index=True)
