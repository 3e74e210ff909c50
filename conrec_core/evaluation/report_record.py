"""The pipeline's report as a typed, versioned record: written once (`report.write_report`), read everywhere
through `read_report`, so a reader never guesses which keys an older report may lack.

    >>> figure = Interval(0.25, 0.2, 0.3)
    >>> row = MethodFigures("most_disliked", "most-disliked items", 10, 8, 20, fhr=figure)
    >>> Report.from_dict(Report(workspace="w", split="test", full_method="m", methods=[row]).to_dict()).methods[0].fhr
    Interval(value=0.25, low=0.2, high=0.3)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import ConrecError

# 1: the layout every report since per-sample metrics were kept has (the version names the layout, not a date);
# 2: adds the primary endpoint, Holm-adjusted p-values, per-user-averaged FHR and where each learnt method's
# training stopped (None in a version-1 report)
SCHEMA_VERSION = 2
FIGURES = ("hr", "fhr", "luf", "lif", "ndcg", "candidate_accuracy", "invalid_rate", "true_dislike_share")


UPGRADES = {1}  # older layouts a reader still takes: what they lack reads as None


@dataclass(frozen=True)
class Interval:
    """A mean over samples with its 95% cluster-bootstrap interval (users resampled)."""
    value: float
    low: float
    high: float

    @classmethod
    def of(cls, figure: dict) -> "Interval":
        """The interval of a JSON figure that may carry more (a sample count, say)."""
        return cls(figure["value"], figure["low"], figure["high"])


@dataclass(frozen=True)
class MethodFigures:
    """One method's row: every figure (None where it has no population) and its paired tests."""
    method: str  # the internal name (CLI, files)
    role: str  # what it is, in words
    samples: int
    users: int
    k: int
    hr: Interval | None = None
    fhr: Interval | None = None
    luf: Interval | None = None
    lif: Interval | None = None
    ndcg: Interval | None = None
    candidate_accuracy: Interval | None = None
    invalid_rate: Interval | None = None
    true_dislike_share: Interval | None = None
    fhr_p_value_vs_best_baseline: float | None = None  # paired sign-flip test per user; None for the best itself
    lif_p_value_vs_best_lif_baseline: float | None = None
    fhr_p_holm: float | None = None  # the FHR test adjusted for every other row's (Holm)
    fhr_per_user: float | None = None  # FHR@K averaged per user first

    def figure(self, name: str) -> Interval | None:
        return getattr(self, name)

    @classmethod
    def from_dict(cls, data: dict) -> "MethodFigures":
        known = {spec.name for spec in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for name in FIGURES:
            if values.get(name) is not None:
                values[name] = Interval.of(values[name])
        return cls(**values)


@dataclass(frozen=True)
class Report:
    workspace: str
    split: str
    full_method: str
    methods: list[MethodFigures]
    source: str | None = None
    best_baseline: str | None = None
    best_lif_baseline: str | None = None
    ablation: list[dict] = field(default_factory=list)  # the paper's Table 2 rows: step, method
    reward_variants: list[dict] = field(default_factory=list)  # Table 4's rows: reward, method
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    kept_stages: list[str] = field(default_factory=list)  # stages that kept an earlier run's model
    command: str | None = None
    config: dict = field(default_factory=dict)  # the experiment spec, as JSON
    definitions: dict = field(default_factory=dict)  # the sample settings in words
    sample_split: str | None = None
    calendar_overlap: dict | None = None
    filter_simulation: list[dict] | None = None  # per threshold θ
    filter_checkpoint: str | None = None
    forgetting: dict | None = None
    true_dislikes: dict | None = None
    prior: dict | None = None
    long_tail_budget: dict | None = None  # reference, methods: per method LIF@K at the full method's budget
    primary: dict | None = None  # the full method against the best baseline (evaluation/primary.py)
    training: dict | None = None  # per learnt method: steps run, the check it kept, the step cap
    grpo_validation: list[float] | None = None  # the full method's validation FHR@K at every GRPO check
    long_tail_share: float | None = None  # share of the split's future negatives that are long-tail items
    created_at: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def k(self) -> int | None:
        return self.methods[0].k if self.methods else None

    def method(self, name: str | None) -> MethodFigures | None:
        return next((row for row in self.methods if row.method == name), None)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        version = data.get("schema_version")
        if version in UPGRADES:  # an older layout: the parts it lacks are None
            data = {**data, "schema_version": SCHEMA_VERSION}
            version = SCHEMA_VERSION
        if version != SCHEMA_VERSION:
            raise ConrecError(f"a report of schema version {version!r}; this conrec reads version {SCHEMA_VERSION}: "
                              "run the pipeline again")
        known = {spec.name for spec in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["methods"] = [MethodFigures.from_dict(row) for row in data.get("methods", [])]
        return cls(**values)


def read_report(path: Path) -> Report:
    """The report at `path` (a report.json), or a ConrecError that says why it cannot be read."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ConrecError(f"{path}: not a readable report ({error})") from None
    if not isinstance(data, dict):
        raise ConrecError(f"{path}: not a report")
    try:
        return Report.from_dict(data)
    except TypeError as error:  # a required part missing, or one of another shape
        raise ConrecError(f"{path}: not a report ({error})") from None
