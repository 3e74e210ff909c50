"""Leave-one-out ablation of the default pipeline on one seed (0 unless `--seed` names another): each row changes
one thing about today's defaults (or reads another row of the default run) and gives the full method's validation
FHR@20 and LIF@20, with a paired test against the default, so the table that says what mattered comes from one
command on the current code instead of figures gathered over many versions of it.

    python -m conrec_core ablation --workspace WS --out DIR [--scratch DIR] [--only NAME ...] [--seed N] [--quick]
        [--with-test]

Variants that only change decoding or fusion share one copy of the workspace with the default (its finished SID
models are kept, only predictions are made again); each variant that changes training gets a copy of its own,
without the default's SID models (its codebook is kept). Every run is `run_pipeline` on the validation split (and,
for a final report alone, the test split), with the two untrained reference baselines. Results are kept per sample in DIR/ablation_samples.parquet, so a stopped run resumes at the
next variant, and DIR/ablation.json and DIR/ablation.md are written again after each one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..decoding.tail_quota import MEMBERS
from ..errors import ConrecError
from .spec import ExperimentSpec, quick_spec

# A tuning run reads validation alone; the test split is added only for a final report (`WITH_TEST`).
SPLITS = ("validation",)
WITH_TEST = ("validation", "test")
REFERENCES = ("most_disliked", "item_cf")
METRICS = ("fhr", "lif", "luf")  # LUF: FHR on the samples of users with few earlier negatives


@dataclass(frozen=True)
class Variant:
    name: str
    change: str  # the table's first column: what differs from the default
    group: str  # variants of one group share a workspace copy, so the SID models they all use train once
    configure: Callable  # ExperimentSpec -> ExperimentSpec
    reading: str = "full"  # the row of the run it reads: full (the full method), sft (the SFT model or fusion)

    @property
    def trains_as_default(self) -> bool:
        """Its run trains the SID models exactly as the default does (it changes only decoding or fusion), so its
        workspace copy may start from the default's trained models."""
        return self.group == "default"


def same(config):
    return config


def _decoding(**changes) -> Callable:
    return lambda config: replace(config, decoding=replace(config.decoding, **changes))


def _sft(**changes) -> Callable:
    return lambda config: replace(config, sft=replace(config.sft, **changes))


def _sft_tasks(tasks: tuple[str, ...]) -> Callable:
    return lambda config: replace(config, sft=config.sft.with_tasks(tasks))


NEGATIVES_TASKS = _sft_tasks(("sid_to_title", "title_to_sid", "alignment", "next_negative"))


def _wider(config):
    backbone = config.backbone
    return replace(config, backbone=replace(backbone, hidden_size=2 * backbone.hidden_size,
                                            intermediate_size=2 * backbone.intermediate_size))


def _fixed_steps(config):
    return _sft(steps=config.sft.steps // 2, keep_best=False)(config)


def _members(count: int, **fusion) -> Callable:
    return lambda config: replace(config, members=count, **fusion)


VARIANTS = (
    Variant("default", "the default (co-occurrence SIDs, width 64, one stream model trained until validation stops "
                       "improving, then GRPO, 20 beams)", "default", same),
    Variant("no_grpo", "without GRPO: the SFT model", "default", same, "sft"),
    Variant("three_members", "three SID models fused (plain reciprocal-rank fusion)", "three_members",
            _members(3)),
    Variant("two_members", "two SID models fused (plain reciprocal-rank fusion)", "two_members", _members(2)),
    Variant("three_members_tail", "three SID models fused keeping their long-tail share or half the user's own",
            "three_members", _members(3, tail_quota=MEMBERS, tail_calibration=0.5)),
    Variant("cold_users", "samples with 0-2 earlier negatives get the most disliked unseen items", "default",
            _decoding(cold_negatives=3)),
    Variant("text_sids", "text-only SIDs (no co-occurrence vectors in the codebook)", "text_sids",
            lambda config: config.with_collaborative("off")),
    Variant("fixed_steps", "no early stopping: a fixed half of the SFT step cap (6,000 at the default), the last "
                           "step kept", "fixed_steps", _fixed_steps),
    Variant("negatives", "a negatives model: the last 20 negatives in the prompt, the next one its target, in "
                         "place of the whole stream", "negatives", NEGATIVES_TASKS),
    Variant("sequence_windows", "negative windows (a target at every negative) in place of the whole stream",
            "sequence_windows",
            _sft_tasks(("sid_to_title", "title_to_sid", "alignment", "negative_sequence"))),
    Variant("wider", "twice the width (hidden and MLP)", "wider", _wider),
    Variant("weight_average", "SFT checks and keeps a moving average of the weights (decay 0.999) in place of the "
                              "weights as trained", "weight_average", _sft(average_decay=0.999)),
    Variant("long_context", "twice the stream context: the last 80 events in each prompt and training window",
            "long_context", lambda config: _sft(stream_events=2 * config.sft.stream_events)(config)),
    Variant("beams_50", "50 beams instead of 20", "default", _decoding(beams=50)),
    Variant("exact", "exact search: every valid SID scored", "default", _decoding(search="exact")),
    Variant("stream_beams_50", "a stream model's 50 beams re-ranked instead of 100", "default",
            _decoding(stream_beams=50)),
    Variant("stream_only", "stream examples only: no translation, no alignment", "stream_only",
            _sft_tasks(("event_stream",))),
    Variant("dislike_rate", "ranked by meeting and rejecting times each item's training dislike rate to the power "
                            "0.5 (EASE's power, chosen on validation)", "default", _decoding(prior_weight=0.5)),
)


def base_config(quick: bool, seed: int = 0):
    base = quick_spec() if quick else ExperimentSpec()
    return replace(base, seed=seed, baselines=REFERENCES, prior=False, compute_map=False)


def reading_method(names, reading: str) -> str:
    return {"full": names.grpo, "sft": names.sft}[reading]


def run_variants(source: Path, scratch: Path, variants: list[Variant], base, say: Callable[[str], None],
                 splits: tuple[str, ...] = SPLITS):
    """Per-sample metrics on each split of one run that `variants` (one group, one configuration) read each their
    row of (method column: the variant's name), and the references'."""
    import pandas as pd

    from ..evaluation.baselines import baseline_method
    from .pipeline import run_pipeline
    from ..evaluation.scoring import read_sample_metrics
    from .workspace_copy import copy_with_codebooks

    variant = variants[0]
    folder = scratch / variant.group
    workspace = folder / source.name
    if not workspace.exists():
        copy_with_codebooks(source, folder, checkpoints=variant.trains_as_default)
    config = variant.configure(base)
    frames = []
    for split in splits:
        last = [-1.0]

        def progress(fraction: float, message: str, split=split) -> None:
            if fraction - last[0] >= 0.05 or fraction >= 1.0:
                last[0] = fraction
                say(f"  {variant.name} {split} {fraction:4.0%} {message}")

        result = run_pipeline(workspace, scratch / "runs" / variant.name / split, replace(config, split=split),
                              on_progress=progress)
        metrics = read_sample_metrics(workspace, split)
        wanted = {reading_method(result.names, v.reading): v.name for v in variants}
        wanted.update({baseline_method(b, config.sasrec.seed): b for b in REFERENCES})
        rows = metrics[metrics["method"].isin(list(wanted))].copy()
        rows["method"] = rows["method"].map(wanted)
        frames.append(rows[["method", "split", "sample_id", "user_id", "k", "fhr", "lif"]])
    return pd.concat(frames, ignore_index=True)


def with_long_tail_users(samples, workspace: Path, splits: tuple[str, ...] = SPLITS):
    """The stored per-sample rows with each sample's `long_tail_user` flag (few negatives before its anchor: LUF's
    population) read from the workspace's samples, which every copy shares."""
    import pandas as pd

    from ..data.samples import read_samples

    flags = pd.concat([read_samples(workspace, split)[["sample_id", "long_tail_user"]] for split in splits])
    return samples.drop(columns=["long_tail_user"], errors="ignore").merge(flags, on="sample_id", how="left")


def summary_rows(samples, seconds: dict[str, float], splits: tuple[str, ...] = SPLITS) -> list[dict]:
    """Each variant's (and reference's) mean FHR@K, LIF@K and LUF@K per split, with the p of a paired sign-flip
    test against the default (signs flipped per user; LIF on the samples with a long-tail future negative, LUF on
    those of users with few earlier negatives). `samples` needs `long_tail_user` (`with_long_tail_users`)."""
    from ..evaluation.scoring import metric_values, paired_p_values

    present = set(samples["method"])
    names = [v.name for v in VARIANTS if v.name in present]
    frames = {split: samples[samples["split"] == split] for split in splits}

    def tests_of(frame, metric: str) -> dict[str, float]:
        if "default" not in present:
            return {}
        if metric == "luf":  # FHR on LUF's slice
            return paired_p_values(frame[frame["long_tail_user"]], "default", "fhr")
        return paired_p_values(frame, "default", metric)

    tests = {(split, metric): tests_of(frames[split], metric) for split in splits for metric in METRICS}
    rows = []
    for method in names + [r for r in REFERENCES if r in present]:
        row = {"method": method, "seconds": round(seconds.get(method, 0.0), 1)}
        for split in splits:
            own = frames[split][frames[split]["method"] == method]
            for metric in METRICS:
                values = metric_values(own, metric)
                row[f"{split}_{metric}"] = float(values.mean()) if len(values) else None
                row[f"{split}_{metric}_p"] = tests[split, metric].get(method)
            row[f"{split}_samples"] = len(own)
            row[f"{split}_cold"] = int(own["long_tail_user"].sum())
        rows.append(row)
    return rows


def markdown(rows: list[dict], workspace: Path, command: str, splits: tuple[str, ...] = SPLITS,
             seed: int = 0) -> str:
    changes = {v.name: v.change for v in VARIANTS} | {
        "most_disliked": "reference: most-disliked items", "item_cf": "reference: cosine item-CF on negatives"}

    def cell(row, split, metric):
        value, p = row[f"{split}_{metric}"], row[f"{split}_{metric}_p"]
        if value is None:
            return "–"
        return f"{value:.3f}" + ("" if p is None else f" ({'p < 0.001' if p < 0.001 else f'p = {p:.3f}'})")

    lines = ["# Ablation of the default pipeline, one seed", "",
             f"`{command}` on `{workspace.name}` (seed {seed}). Each row changes one thing about the default and "
             f"gives the full method's mean FHR@20 and LIF@20 on the {' and '.join(splits)} split"
             f"{'s' if len(splits) > 1 else ''}, with the p of a paired "
             "sign-flip test against the default's row (signs flipped per user; LIF on the samples with a long-tail "
             "future negative). LUF@20 is FHR@20 on the samples of users with few negatives before the anchor (the "
             "cold-user slice). Minutes: the row's runs, training what it changes (the default's models were "
             "trained before and kept) and decoding; rows that read the default's run show its minutes.", ""]
    columns = [(split, metric) for metric in METRICS for split in splits]
    lines += ["| change | " + " | ".join(f"{split} {metric.upper()}@20" for split, metric in columns) + " | minutes |",
              "|---" * (len(columns) + 2) + "|"]
    for row in rows:
        lines.append(f"| {changes[row['method']]} | " + " | ".join(cell(row, split, metric) for split, metric in columns)
                     + f" | {row['seconds'] / 60:.1f} |")
    counts = rows[0] if rows else {}
    lines += ["", "Samples: " + ", ".join(f"{counts.get(f'{split}_samples', 0):,} {split} "
                                          f"({counts.get(f'{split}_cold', 0):,} in LUF's slice)" for split in splits)
              + "."]
    return "\n".join(lines) + "\n"


def run_ablation(source: Path, out: Path, scratch: Path, only: tuple[str, ...] = (), quick: bool = False,
                 command: str = "python -m conrec_core ablation",
                 say: Callable[[str], None] = print, splits: tuple[str, ...] = SPLITS, seed: int = 0) -> list[dict]:
    """Run each variant (of `only`, if given) not yet in OUT's stored samples on `splits` (validation alone unless
    a final report asks for test too) with `seed`, writing the tables after each; returns the table's rows."""
    import pandas as pd

    unknown = set(only) - {v.name for v in VARIANTS}
    if unknown:
        raise ConrecError(f"unknown variants {sorted(unknown)}; known: {', '.join(v.name for v in VARIANTS)}")
    out.mkdir(parents=True, exist_ok=True)
    store = out / "ablation_samples.parquet"
    samples = pd.read_parquet(store) if store.exists() else pd.DataFrame(columns=["method"])
    stored = json.loads((out / "ablation.json").read_text()) if (out / "ablation.json").exists() else {}
    timing = stored.get("seconds", {})
    previous = stored.get("seed", 0) if stored else seed
    if previous != seed:
        raise ConrecError(f"{out} holds an ablation with seed {previous}; give seed {seed} a folder of its own")
    base = base_config(quick, seed)

    def write_tables() -> list[dict]:
        rows = summary_rows(with_long_tail_users(samples, source, splits), timing, splits)
        (out / "ablation.json").write_text(json.dumps({"command": command, "seed": seed, "seconds": timing,
                                                       "rows": rows}, indent=2) + "\n")
        (out / "ablation.md").write_text(markdown(rows, source, command, splits, seed))
        return rows

    for variant in VARIANTS:
        done = set(samples["method"])
        if (only and variant.name not in only) or variant.name in done:
            continue
        clock = time.perf_counter()
        say(f"{variant.name}: {variant.change}")
        run = [v for v in VARIANTS if v.group == variant.group and v.configure is variant.configure
               and (not only or v.name in only) and v.name not in done]
        frame = run_variants(source, scratch, run, base, say, splits)
        frame = frame[~frame["method"].isin(done)]  # the references come once, from the first run
        samples = pd.concat([samples, frame], ignore_index=True) if len(samples) else frame
        samples.to_parquet(store, index=False)
        timing.update({v.name: time.perf_counter() - clock for v in run})
        write_tables()
        say(f"{variant.name} done in {time.perf_counter() - clock:.0f} s")
    return write_tables() if len(samples) else []
