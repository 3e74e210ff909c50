"""What each method is, in words: the label reports and pages show instead of internal names such as
`pipeline-grpo-default-truncated-s0` (which stay available as tooltips and in the files)."""

from __future__ import annotations

import re

from .baselines import SEEDS_SUFFIX, baseline_of

ROLES = {"most_disliked": "baseline: most-disliked items", "swing_cf": "baseline: Swing item-CF on negatives",
         "item_cf": "baseline: cosine item-CF on the user's recent negatives",
         "item_knn": "baseline: cosine item-KNN over every kind of event, on the user's recent events",
         "ease": "baseline: EASE on every kind of event, times each item's dislike rate",
         "fused_baselines": "baseline: the untrained baselines fused by reciprocal rank",
         "sasrec_negatives": "baseline: SASRec on negatives", "sasrec_both": "baseline: SASRec on negatives + positives",
         "sasrec_prior": "baseline: SASRec on negatives + popularity prior (weight chosen on validation)"}
SFT_ROLE = "SID model after SFT (translation + alignment + event stream)"
FULL_ROLE = "full method: SFT + progressive GRPO (future-window + Swing reward)"
PRIOR_ROLE = "full method + popularity prior (weight chosen on validation)"
VARIANT_ROLES = {"tiger": "TIGER-style: SID model, sequence SFT only",
                 "lcrec": "LC-Rec-style: SID model, translation + sequence SFT"}
REWARD_ROLES = {"next_negative": "GRPO, biased reward: exact hit on the next negative",
                "future_negative": "GRPO, reward (a): future-negative similarity",
                "future_negative_truncated": "GRPO, reward (b): (a) truncated at 0.6",
                "default": "GRPO, reward (c): (a) minus the future-positive penalty",
                "default_truncated": "GRPO, reward (d): (c) truncated on both terms",
                "sid_levels": "GRPO, reward (e): 1 / 0.1 / 0.01 for 3 / 2 / 1 matching SID levels"}
PIPELINE_NAME = re.compile(r"^pipeline-(?P<model>.+?)" + SEEDS_SUFFIX.pattern)
MEMBER_SUFFIX = re.compile(r"-m(?P<member>\d+)$")  # one of a seed's fused SID models (ExperimentSpec.members)
FUSED_SUFFIX = "-fused"  # a seed's members fused


def method_role(name: str) -> str | None:
    """The role of a baseline or of a model the pipeline named, without its seed; None for any other checkpoint.

    >>> method_role("sasrec_both-s2"), method_role("pipeline-grpo-default-truncated-s0"), method_role("my-sft")
    ('baseline: SASRec on negatives + positives', 'GRPO, reward (d): (c) truncated on both terms', None)
    >>> method_role("pipeline-grpo-m1-s0"), method_role("pipeline-sft-fused-s0")
    ('full method: SFT + progressive GRPO (future-window + Swing reward), member 1', 'SID model after SFT (translation + alignment + event stream), members fused')
    """
    baseline = baseline_of(name)
    if baseline is not None:
        return ROLES[baseline]
    match = PIPELINE_NAME.match(name)
    return None if match is None else model_role(match["model"])


def model_role(model: str) -> str | None:
    """The role of a pipeline model by the part of its name between `pipeline-` and its seed (`grpo-m1`)."""
    member = MEMBER_SUFFIX.search(model)
    if member is not None:
        role = model_role(model[:member.start()])
        return None if role is None else f"{role}, member {member['member']}"
    if model.endswith(FUSED_SUFFIX):
        role = model_role(model.removesuffix(FUSED_SUFFIX))
        return None if role is None else f"{role}, members fused"
    if model == "sft":
        return SFT_ROLE
    if model == "grpo":
        return FULL_ROLE
    if model == "grpo-prior":
        return PRIOR_ROLE
    if model in VARIANT_ROLES:
        return VARIANT_ROLES[model]
    reward = model.removeprefix("grpo-").replace("-", "_")
    return REWARD_ROLES.get(reward) if model.startswith("grpo-") else None


def method_label(name: str) -> str:
    """What a page shows for a method: its role with the seed of a learnt one, or a checkpoint's own name.

    >>> method_label("pipeline-grpo-s1"), method_label("most_disliked"), method_label("my-sft")
    ('full method: SFT + progressive GRPO (future-window + Swing reward), seed 1', 'baseline: most-disliked items', 'my-sft')
    >>> method_label("pipeline-sft-s0-1-2"), method_label("sasrec_both-s0-1")
    ('SID model after SFT (translation + alignment + event stream), seeds 0, 1, 2 fused', 'baseline: SASRec on negatives + positives, seeds 0, 1 fused')
    """
    role = method_role(name)
    if role is None:
        return name
    seeds = SEEDS_SUFFIX.search(name)
    if seeds is None:
        return role
    seeds = seeds["seeds"].split("-")
    return f"{role}, seed {seeds[0]}" if len(seeds) == 1 else f"{role}, seeds {', '.join(seeds)} fused"


# A few words per role, for chart axes where the full role would squash the plot (the full one goes in the hover).
SHORT_ROLES = {ROLES["most_disliked"]: "most disliked", ROLES["swing_cf"]: "Swing item-CF",
               ROLES["item_cf"]: "item-CF", ROLES["item_knn"]: "item-KNN", ROLES["ease"]: "EASE × dislike rate",
               ROLES["fused_baselines"]: "baselines fused", ROLES["sasrec_negatives"]: "SASRec (negatives)",
               ROLES["sasrec_both"]: "SASRec (neg. + pos.)", ROLES["sasrec_prior"]: "SASRec + prior",
               SFT_ROLE: "SID model (SFT)", FULL_ROLE: "full method", PRIOR_ROLE: "full method + prior"}


def short_label(name: str) -> str:
    """A chart axis's label for a method: a few words, with its seed or member.

    >>> short_label("ease"), short_label("pipeline-grpo-s1"), short_label("pipeline-sft-m2-s0"), short_label("x")
    ('EASE × dislike rate', 'full method, s1', 'SID model (SFT), m2, s0', 'x')
    >>> short_label("pipeline-grpo-future-negative-s0"), short_label("sasrec_both-s0-1-2")
    ('GRPO, reward (a), s0', 'SASRec (neg. + pos.), seeds 0-2 fused')
    """
    role = method_role(name)
    if role is None:
        return name
    member = re.search(r", member (\d+)$", role)
    role = role[:member.start()] if member else role
    fused_members = role.endswith(", members fused")
    role = role.removesuffix(", members fused")
    text = SHORT_ROLES.get(role, role.split(":")[0])
    text += f", m{member[1]}" if member else (", members fused" if fused_members else "")
    seeds = SEEDS_SUFFIX.search(name)
    if seeds is not None:
        listed = seeds["seeds"].split("-")
        text += f", s{listed[0]}" if len(listed) == 1 else f", seeds {listed[0]}-{listed[-1]} fused"
    return text
