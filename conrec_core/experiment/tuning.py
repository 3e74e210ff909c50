"""One tuning protocol for every method that has settings to search: a seeded random search, each trial scored
by FHR@K on the validation split alone, the same trial budget for every method, and the chosen settings kept
with every trial's figure in `<workspace>.files/tuning/<method>.json`. The test split is never read here:
asking for it is an error, so no default can move because of a test figure.

    >>> space = SEARCH_SPACES["ease"]
    >>> first, *rest = candidate_settings(space, 5, seed=0)
    >>> first == space.defaults, len(rest), len({json.dumps(t.to_dict(), sort_keys=True) for t in rest})
    (True, 4, 4)
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..data.samples import read_samples, samples_fingerprint
from ..data.workspace import artifacts_dir
from ..errors import ConfigError
from ..evaluation.baseline_settings import BaselineSettings
from ..evaluation.baselines import rank_baseline
from ..metrics import future_hit_rate
from .side_by_side import Progress
from .tuning_spaces import SEARCH_SPACES, SearchSpace

TUNED_SPLIT = "validation"


@dataclass(frozen=True)
class Trial:
    settings: dict
    fhr: float
    seconds: float


@dataclass(frozen=True)
class TuningRecord:
    method: str
    split: str
    k: int
    budget: int
    seed: int
    samples: int  # validation samples scored
    samples_fingerprint: str
    trials: list[Trial]
    chosen: dict  # the best trial's settings (the earliest of equals)
    chosen_fhr: float

    def to_dict(self) -> dict:
        return asdict(self)


def candidate_settings(space: SearchSpace, budget: int, seed: int, base=None) -> list:
    """`base` (default: the space's defaults), then distinct random draws from the space applied to it, `budget`
    settings in all (fewer when the space holds fewer)."""
    rng = np.random.default_rng(seed)
    base = space.defaults if base is None else base
    chosen = [base]
    keys = {json.dumps(chosen[0].to_dict(), sort_keys=True)}
    for _ in range(budget * 50):
        if len(chosen) >= budget:
            break
        draw = {name: values[rng.integers(len(values))] for name, values in space.values.items()}
        settings = replace(base, **draw)
        key = json.dumps(settings.to_dict(), sort_keys=True)
        if key not in keys:
            keys.add(key)
            chosen.append(settings)
    return chosen


def tune(workspace, method: str, budget: int = 20, seed: int = 0, k: int = 20, split: str = TUNED_SPLIT,
         on_progress: Progress | None = None, base=None) -> TuningRecord:
    """Search `method`'s settings on the validation split with `budget` trials, the first `base` (default: the
    method's defaults) and the others draws from its search space on top of it; keep and return the record."""
    if split != TUNED_SPLIT:
        raise ConfigError(f"tuning reads the {TUNED_SPLIT} split only, never {split!r}: the test split is the "
                          "final report's alone")
    if method not in SEARCH_SPACES:
        raise ConfigError(f"no search space for {method!r}; tunable: {', '.join(SEARCH_SPACES)}")
    if budget < 1:
        raise ConfigError(f"the trial budget must be at least 1, not {budget}")
    progress = on_progress or (lambda fraction, message: None)
    space = SEARCH_SPACES[method]
    samples = read_samples(workspace, TUNED_SPLIT)
    if samples.empty:
        raise ConfigError("the workspace has no validation samples to tune on")
    trials = []
    candidates = candidate_settings(space, budget, seed, base)
    for index, settings in enumerate(candidates):
        clock = time.perf_counter()
        ranked = rank_baseline(workspace, method, samples, k,
                               settings=replace(BaselineSettings(), **{space.field: settings}))
        fhr = float(np.mean([future_hit_rate(r, list(f), k) for r, f in zip(ranked, samples["future_negatives"])]))
        trials.append(Trial(settings.to_dict(), fhr, round(time.perf_counter() - clock, 1)))
        progress((index + 1) / len(candidates), f"trial {index + 1} of {len(candidates)}: validation FHR@{k} "
                                                f"{fhr:.4f}")
    best = max(trials, key=lambda trial: trial.fhr)  # max keeps the earliest of equals
    record = TuningRecord(method, TUNED_SPLIT, k, len(candidates), seed, len(samples), samples_fingerprint(workspace),
                          trials, best.settings, best.fhr)
    path = tuning_path(workspace, method)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(record.to_dict(), indent=1))
    temporary.replace(path)
    return record


def tuning_path(workspace, method: str) -> Path:
    if method not in SEARCH_SPACES:
        raise ConfigError(f"no search space for {method!r}; tunable: {', '.join(SEARCH_SPACES)}")
    return artifacts_dir(workspace) / "tuning" / f"{method}.json"


def with_tuned(workspace, spec):
    """`spec` (an ExperimentSpec) with the settings `tune` chose on this workspace's samples, for each method
    tuned there."""
    chosen = {space.field: tuned_settings(workspace, method) for method, space in SEARCH_SPACES.items()}
    chosen = {field: settings for field, settings in chosen.items() if settings is not None}
    return replace(spec, baseline_settings=replace(spec.baseline_settings, **chosen)) if chosen else spec


def tuned_settings(workspace, method: str):
    """The settings `tune` chose for `method` on the workspace's current samples, or None (never tuned, or tuned
    on samples since rebuilt)."""
    try:
        record = json.loads(tuning_path(workspace, method).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("samples_fingerprint") != samples_fingerprint(workspace):
        return None
    return SEARCH_SPACES[method].config.from_dict(record.get("chosen", {}))
