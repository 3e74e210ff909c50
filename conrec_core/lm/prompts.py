"""The prompt table and the task protocol: every SFT task is (prompt, target) built from one template.

Targets that are SIDs are written as SID tokens only, so a model's answer to a SID task can be decoded
under the SID trie. SIDs are concatenated without separators (each token names its level).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..semantic_ids.store import Codebook
from .config import SFTConfig
from ..errors import ConrecError
from ..data.samples import Sample, as_samples, read_samples, users_first
from ..data.streams import Event, UserStream, before_anchor, read_anchor_events, read_streams
from ..data.workspace import open_workspace
from .vocab import KIND_TOKENS

PROMPTS = {
    "sid_to_title": "Item {sid} is titled:",
    "title_to_sid": "The item titled {title} is",
    "alignment": "Candidates: {candidates}. The user rejected",
    "next_negative": "Dislikes so far: {history}. Next dislike",
    "with_positives": "Likes: {positives}. Dislikes so far: {history}. Next dislike",  # GRPO stage 3
    # A model that trains windows of negatives (`negative_sequences`) reads next-negative prompts as a prefix of
    # such a window: the answer's SID follows the history directly (SFTConfig.prefix_prompts).
    "negative_sequence": "Dislikes so far: {history}",
    "with_positives_prefix": "Likes: {positives}. Dislikes so far: {history}",
    # a stream model's only prompt: the user's last events of every kind, each a SID and its kind token
    # (KIND_TOKENS); the next event's SID follows directly
    "event_stream": "Events: {history}",
}
PROMPTS["future_negative"] = PROMPTS["next_negative"]  # the same question, its answer drawn from the future window
CANDIDATES = 4  # alignment: one disliked item among three of the same user's positives


@dataclass
class Example:
    task: str
    prompt: str
    target: str  # a SID, or a title for sid_to_title
    item_id: str  # the item the target names
    candidates: list[str] = field(default_factory=list)  # alignment only: the four items, target among them
    ends: bool = True  # the target ends the text (EOS follows); False for next negatives, where more would follow


def render(task: str, **values) -> str:
    return PROMPTS[task].format(**values)


def sid_history(codebook: Codebook, item_ids: list[str], limit: int) -> str:
    known = [codebook.sids.sid(i) for i in item_ids if i in codebook.sids.item_to_row]
    return "".join(known[-limit:])


@dataclass
class TaskData:
    """What the tasks read from a workspace, fetched once."""

    titles: dict[str, str]  # item -> title (items with a title only)
    categories: dict[str, str]
    samples: dict[str, list[Sample]]  # split -> samples whose next negative has a SID
    popular_positives: list[str]  # fill-ins for users with fewer than three positives of their own
    training_negatives: dict[str, list[str]]  # user -> negatives before their validation cut (with a SID), in order
    # read for a stream model only (`read_task_data(streams=True)`): every user's stream, each sample's anchor
    # event and each user's validation cut
    streams: dict[str, UserStream] = field(default_factory=dict)
    anchor_events: dict[int, int] = field(default_factory=dict)
    validation_cuts: dict[str, object] = field(default_factory=dict)

    def stream_before(self, sample: Sample, limit: int) -> list[Event]:
        """The last `limit` events before the sample's anchor."""
        return before_anchor(self.streams, self.anchor_events, sample, limit)

    def training_streams(self) -> dict[str, list[Event]]:
        """Each user's events before their validation cut."""
        return {user: stream.before(self.validation_cuts[user]) for user, stream in self.streams.items()
                if self.validation_cuts.get(user) is not None}


def read_task_data(workspace, codebook: Codebook, streams: bool = False) -> TaskData:
    """What the tasks read; `streams`: also every user's whole stream (a stream model's tasks and prompts)."""
    with open_workspace(workspace) as con:
        items = con.execute("SELECT item_id, title, category FROM items").fetchall()
        # counted on the training part only (events before each user's validation cut), like everything fitted
        popular = [i for (i,) in con.execute("""
            SELECT e.item_id FROM events e JOIN user_cuts c USING (user_id)
            WHERE e.kind = 'positive' AND e.ts < c.validation_cut GROUP BY e.item_id
            ORDER BY count(*) DESC, e.item_id LIMIT 200""").fetchall()]
        negatives = con.execute("""
            SELECT e.user_id, list(e.item_id ORDER BY e.ts, e.event_id) FROM events e JOIN user_cuts c USING (user_id)
            WHERE e.kind = 'negative' AND e.ts < c.validation_cut GROUP BY e.user_id ORDER BY e.user_id""").fetchall()
    known = codebook.sids.item_to_row
    every = as_samples(read_samples(workspace))
    samples = {split: [s for s in every if s.split == split and s.next_negative in known]
               for split in ("train", "validation", "test")}
    # checks read the first N validation samples: users first, so N covers min(N, users) users
    validation = samples["validation"]
    samples["validation"] = [validation[i] for i in users_first([s.user_id for s in validation])]
    return TaskData(titles={i: t for i, t, _ in items if t and i in known},
                    categories={i: c for i, _, c in items if c},
                    samples=samples, popular_positives=[i for i in popular if i in known],
                    training_negatives={user: [i for i in items if i in known] for user, items in negatives},
                    **(stream_data(workspace) if streams else {}))


def stream_data(workspace) -> dict:
    with open_workspace(workspace) as con:
        cuts = dict(con.execute("SELECT user_id, validation_cut FROM user_cuts").fetchall())
    return {"streams": read_streams(workspace), "anchor_events": read_anchor_events(workspace),
            "validation_cuts": cuts}


def translation_examples(data: TaskData, codebook: Codebook, config: SFTConfig) -> list[Example]:
    examples = []
    for item_id, title in sorted(data.titles.items()):
        short = " ".join(title.split()[:config.title_words])
        sid = codebook.sids.sid(item_id)
        if "sid_to_title" in config.tasks:
            examples.append(Example("sid_to_title", render("sid_to_title", sid=sid), " " + short, item_id))
        if "title_to_sid" in config.tasks:
            examples.append(Example("title_to_sid", render("title_to_sid", title=short), sid, item_id))
    return examples


def alignment_pool(codebook: Codebook, positives) -> list[str]:
    """The distinct items of `positives` that have a SID, in first-seen order: what alignment draws candidates
    from (built once per user, since a heavy user's samples repeat the same positives many times over)."""
    known = codebook.sids.item_to_row
    return [p for p in dict.fromkeys(positives) if p in known]


def alignment_example(codebook: Codebook, disliked: str, pool: list[str], rng: np.random.Generator,
                      fill_ins: list[str]) -> Example | None:
    """Three of `pool` (an `alignment_pool`), topped up from `fill_ins`, and the disliked item, in random order."""
    pool = [p for p in pool if p != disliked]
    if len(pool) < CANDIDATES - 1:
        pool += [p for p in fill_ins if p != disliked and p not in pool][:CANDIDATES - 1 - len(pool)]
    if len(pool) < CANDIDATES - 1:
        return None
    chosen = [pool[i] for i in rng.choice(len(pool), CANDIDATES - 1, replace=False)]
    candidates = chosen + [disliked]
    rng.shuffle(candidates)
    text = "".join(codebook.sids.sid(c) for c in candidates)
    return Example("alignment", render("alignment", candidates=text), codebook.sids.sid(disliked), disliked,
                   candidates)


def training_alignment(data: TaskData, codebook: Codebook, config: SFTConfig,
                       rng: np.random.Generator) -> list[Example]:
    """Per user, up to `alignment_per_user` training negatives, weighted to the categories they dislike often."""
    by_user: dict[str, list[dict]] = {}
    for sample in data.samples["train"]:
        by_user.setdefault(sample.user_id, []).append(sample)
    examples = []
    for user in sorted(by_user):
        samples = by_user[user]
        pool = alignment_pool(codebook, (p for s in samples for p in (*s.context_positives, *s.future_positives)))
        negatives = [s.next_negative for s in samples]
        category_counts: dict[str, int] = {}
        for item in negatives:
            category = data.categories.get(item, item)
            category_counts[category] = category_counts.get(category, 0) + 1
        weights = np.array([category_counts[data.categories.get(i, i)] for i in negatives], dtype=float)
        picks = rng.choice(len(negatives), min(len(negatives), config.alignment_per_user), replace=False,
                           p=weights / weights.sum())
        for pick in sorted(picks):
            example = alignment_example(codebook, negatives[pick], pool, rng, data.popular_positives)
            if example:
                examples.append(example)
    return examples


def held_out_alignment(data: TaskData, codebook: Codebook, split: str, rng: np.random.Generator,
                       limit: int | None = None) -> list[Example]:
    examples = []
    for sample in data.samples[split]:
        pool = alignment_pool(codebook, (*sample.context_positives, *sample.future_positives))
        example = alignment_example(codebook, sample.next_negative, pool, rng, data.popular_positives)
        if example:
            examples.append(example)
    return examples[:limit]


def next_negative_examples(data: TaskData, codebook: Codebook, split: str, config: SFTConfig,
                           limit: int | None = None) -> list[Example]:
    """One example per sample: its context as the prompt (a stream model's: its stream), its next negative as
    the target (held-out loss)."""
    return [Example("next_negative", sample_prompt(codebook, s, config, data), codebook.sids.sid(s.next_negative),
                    s.next_negative, ends=not config.prefix_prompts)
            for s in data.samples[split][:limit]]


def sample_prompt(codebook: Codebook, sample: Sample, config: SFTConfig, data: TaskData) -> str:
    """The next-negative prompt of a sample: its recent negatives, or a stream model's stream."""
    if config.stream_prompts:
        return stream_prompt(codebook, data.stream_before(sample, config.stream_events))
    return next_negative_prompt(codebook, list(sample.context_negatives), config)


def stream_text(codebook: Codebook, events: list[Event]) -> str:
    """Each event with a SID as its SID followed by its kind's token."""
    sid_of, known = codebook.sids.sid, codebook.sids.item_to_row
    return "".join(sid_of(item) + KIND_TOKENS[kind] for item, kind in events if item in known)


def stream_prompt(codebook: Codebook, events: list[Event]) -> str:
    return render("event_stream", history=stream_text(codebook, events))


def event_streams(data: TaskData, codebook: Codebook, config: SFTConfig) -> list[Example]:
    """Each user's training stream (events with a SID) as windows of up to `stream_events` events with the loss
    on every token: at every position the model learns which item the user meets next and how they take it. A
    window ends every quarter window, so every event is a target under a few contexts."""
    known, start = codebook.sids.item_to_row, render("event_stream", history="")
    length, stride = config.stream_events, max(1, config.stream_events // 4)
    examples = []
    for user, events in sorted(data.training_streams().items()):
        events = [event for event in events if event[0] in known]
        ends = list(range(len(events), 0, -stride))[::-1]
        for end in ends:
            window = events[max(0, end - length):end]
            examples.append(Example("event_stream", start, stream_text(codebook, window), window[-1][0], ends=False))
    return examples


def future_negative_examples(data: TaskData, codebook: Codebook, config: SFTConfig,
                             rng: np.random.Generator) -> list[Example]:
    """`config.window_targets` examples per training sample: its context as the prompt (the next-negative
    prompt), a negative of its future window as the target, drawn at random with replacement (the next negative
    is one of them). The future window is what FHR@K scores and what the paper's motivation (method §1) finds
    less biased by exposure order than the next item; a fixed count per sample keeps every sample's weight equal
    however long its window."""
    known = codebook.sids.item_to_row
    examples = []
    for sample in data.samples["train"]:
        window = [item for item in dict.fromkeys(sample.future_negatives) if item in known] or [sample.next_negative]
        prompt = sample_prompt(codebook, sample, config, data)
        for pick in rng.integers(len(window), size=config.window_targets):
            item = window[pick]
            examples.append(Example("future_negative", prompt, codebook.sids.sid(item), item,
                                    ends=not config.prefix_prompts))
    return examples


def negative_sequences(data: TaskData, codebook: Codebook, config: SFTConfig) -> list[Example]:
    """Each user's training negatives as windows of up to `context_items + 1` items, one window ending at each
    negative, with the loss on every item's SID: a window trains every next negative in it at once, each from
    the items before it, as a sequence recommender trains (a per-sample example gives one target). Windows
    overlap, so an item is a target under many contexts: fixed, disjoint windows let the model learn each one
    by heart within a few epochs."""
    start = render("negative_sequence", history="")
    examples, length = [], config.context_items + 1
    for user, items in data.training_negatives.items():
        for end in range(1, len(items) + 1):
            window = items[max(0, end - length):end]
            examples.append(Example("negative_sequence", start, "".join(codebook.sids.sid(i) for i in window),
                                    window[-1], ends=False))
    return examples


def next_negative_prompt(codebook: Codebook, context_negatives: list[str], config: SFTConfig) -> str:
    return render("negative_sequence" if config.prefix_prompts else "next_negative",
                  history=sid_history(codebook, context_negatives, config.context_items))


def stage_prompt(codebook: Codebook, kind: str, sample: Sample, config: SFTConfig,
                 positive_items: int | None = None, stream: list[Event] | None = None) -> str:
    """The prompt of a GRPO stage (grpo_config.STAGE_PROMPTS) for one sample; SFT checkpoints use "negatives".

    Stage 1 shows only the negatives of the last days (the sample's `recent_negatives`), stage 2 all of
    them, stage 3 adds the `positive_items` most recent positives (the GRPO setting of the checkpoint), marked
    apart so the model can tell the two kinds. A stream model reads its `stream` (the events before the sample's
    anchor) at every stage: it shows every kind already.
    """
    if config.stream_prompts:
        if stream is None:
            raise ConrecError("a stream model's prompt needs the user's stream of events")
        return stream_prompt(codebook, stream[-config.stream_events:])
    if kind == "recent_negatives":
        return next_negative_prompt(codebook, list(sample.recent_negatives), config)
    if kind == "negatives":
        return next_negative_prompt(codebook, list(sample.context_negatives), config)
    if kind == "negatives_positives":
        if positive_items is None:
            raise ConrecError("a prompt with positives needs the GRPO run's positive_items setting")
        return render("with_positives_prefix" if config.prefix_prompts else "with_positives",
                      positives=sid_history(codebook, list(sample.context_positives), positive_items),
                      history=sid_history(codebook, list(sample.context_negatives), config.context_items))
    raise ValueError(f"unknown prompt kind {kind!r}")


def training_examples(data: TaskData, codebook: Codebook, config: SFTConfig) -> dict[str, list[Example]]:
    """Training examples per task, from the training split and the catalogue only."""
    rng = np.random.default_rng(config.seed)
    examples: dict[str, list[Example]] = {task: [] for task in config.tasks}
    for example in translation_examples(data, codebook, config):
        examples[example.task].append(example)
    if "alignment" in config.tasks:
        examples["alignment"] = training_alignment(data, codebook, config, rng)
    if "next_negative" in config.tasks:
        examples["next_negative"] = next_negative_examples(data, codebook, "train", config)
    if "negative_sequence" in config.tasks:
        examples["negative_sequence"] = negative_sequences(data, codebook, config)
    if "future_negative" in config.tasks:
        examples["future_negative"] = future_negative_examples(data, codebook, config, rng)
    if "event_stream" in config.tasks:
        examples["event_stream"] = event_streams(data, codebook, config)
    return examples


def template_texts() -> list[str]:
    """The fixed words of every prompt, for the tiny model's tokenizer."""
    return [template.replace("{", " ").replace("}", " ") for template in PROMPTS.values()]
