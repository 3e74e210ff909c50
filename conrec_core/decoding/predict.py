"""Predicted negatives: a checkpoint decodes the top-K SIDs for each sample and writes them to the workspace."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

from ..semantic_ids.store import load_codebook
from .search import Decoded, DecodingConfig
from .trie import SidTrie
from .exhaustive import top_sids
from ..errors import ConrecError
from ..lm.checkpoints import checkpoint_dir, load_checkpoint, read_training
from ..lm.config import SFTConfig
from ..metrics import future_hit_rate, hit_rate, mean
from ..lm.prompts import stage_prompt
from .item_trie import item_trie, model_vocab, rejection_sequences, rejection_token, seen_rows, sid_token_sequences
from .prior_fusion import CandidatePool, WeightChoice, choose_prior_weight, fused, searched_pools
from .prior import WEIGHT_GRID, read_log_dislike_rate, read_log_prior
from ..data.samples import as_samples, read_samples, require_samples, seen_items
from ..data.streams import sample_streams
from ..data.stats import training_negative_shares
from ..data.workspace import check_name, open_workspace
from .prediction_store import write_predictions


@dataclass
class PredictionRun:
    checkpoint: str
    samples: int
    invalid: int  # decoded sequences that were not a valid, new SID (0 under the constraint)
    seconds: float
    hr: float | None  # HR@K over the predicted samples
    fhr: float | None  # FHR@K
    k: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class DecodingRun:
    """A checkpoint loaded with one split's samples, prompts and excluded items: what every search needs."""
    codebook: object
    backbone: object
    sft: SFTConfig
    samples: list
    prompts: list[str]
    excluded: list[list[int]]
    built_trie: SidTrie | None = None  # `trie`, kept by a copy made with `dataclasses.replace`

    @property
    def trie(self) -> SidTrie:
        """The codebook's SIDs as the model's tokens, built once (a second or so on 10k items)."""
        if self.built_trie is None:
            self.built_trie, _ = item_trie(self.codebook, self.backbone.tokenizer,
                                           model_vocab(self.backbone.tokenizer, self.backbone.model))
        return self.built_trie

    def search(self, config: DecodingConfig, on_batch: Callable[[int], None] | None = None) -> list[Decoded]:
        return top_sids(self.backbone.model, self.backbone.tokenizer, self.trie, self.prompts, config,
                        self.excluded, on_batch, free_end=self.sft.prefix_prompts)

    def pools(self, workspace, config: DecodingConfig,
              on_batch: Callable[[int], None] | None = None) -> list[CandidatePool]:
        """Each sample's `candidate_beams` best SIDs plus the `config.prior_candidates` items of highest prior it
        may get, scored exactly (prior_fusion.searched_pools). A stream model scores each candidate's SID followed
        by the negative kind token (how likely the user meets the item and rejects it) and its prior is the
        item's dislike rate; any other model's is the item's share of the negatives."""
        model, tokenizer, item_ids = self.backbone.model, self.backbone.tokenizer, self.codebook.sids.item_ids
        with open_workspace(workspace) as con:
            prior = read_log_dislike_rate(con, item_ids) if self.sft.stream_prompts else read_log_prior(con, item_ids)
        free_end = self.sft.prefix_prompts
        if self.sft.stream_prompts:
            forced, then = rejection_sequences(self.codebook, tokenizer), rejection_token(tokenizer)
        else:
            closing = [] if free_end else [tokenizer.eos_token_id]
            forced, then = [s + closing for s in sid_token_sequences(self.codebook, tokenizer)], None
        excluded = self.excluded if config.exclude_seen else [[] for _ in self.prompts]
        return searched_pools(model, tokenizer, self.trie, self.prompts, self.candidate_beams(config), prior, excluded,
                              config.prior_candidates, forced, free_end=free_end, then_token=then,
                              batch_size=config.batch_size, on_batch=on_batch)

    def candidate_beams(self, config: DecodingConfig) -> int:
        """Beams whose items the re-ranking reads: a stream model's `DecodingConfig.stream_width`."""
        if not self.sft.stream_prompts:
            return config.beams
        return config.stream_width(len(self.codebook.sids.item_ids) - max(map(len, self.excluded), default=0))

    def rank(self, workspace, config: DecodingConfig, on_progress: Callable[[float, str], None] | None = None,
             unit: str = "samples") -> list[Decoded]:
        """The top `config.returns` items per prompt: the model's beams, or with a prior weight (and always for a
        stream model) the candidates of `pools` re-ranked by their exact scores and the prior; the prior's
        candidates join the pool only with a prior weight."""
        progress = on_progress or (lambda fraction, message: None)
        total, done = len(self.prompts), [0]

        def batch_done(count: int) -> None:
            done[0] += count
            progress(done[0] / total, f"ranked {done[0]:,} of {total:,} {unit}")

        if not (config.prior_weight > 0 or self.sft.stream_prompts):
            return self.search(config, batch_done)
        if not config.prior_weight > 0:  # the prior's candidates join only a pool the prior re-ranks
            config = replace(config, prior_candidates=0)  # docs/decisions.md#prior-candidates
        return fused(self.pools(workspace, config, batch_done), config.prior_weight, config.returns)

    def future_rows(self) -> list[list[int]]:
        rows_of = self.codebook.sids.item_to_row
        return [[rows_of[i] for i in s.future_negatives if i in rows_of] for s in self.samples]


def load_run(workspace, checkpoint: str, split: str, users: list[str] | None = None, load_in_4bit: bool = False,
             progress: Callable[[float, str], None] = lambda fraction, message: None,
             samples_from=None) -> DecodingRun:
    """`checkpoint` of `workspace`, checked against its samples, with one split's samples, read from
    `samples_from` when given: a copy whose samples were rebuilt with other validation settings, the caller
    having checked that its training samples are the same (experiments/validation_sets.py)."""
    samples_from = samples_from or workspace
    folder = checkpoint_dir(workspace, checkpoint)
    training = read_training(folder)
    require_samples(workspace, training.get("samples_fingerprint"), f"checkpoint {checkpoint!r}")
    codebook = load_codebook(workspace, training.get("codebook", "default"))
    progress(0.0, "loading the checkpoint")
    backbone, training = load_checkpoint(folder, codebook=codebook, load_in_4bit=load_in_4bit)
    samples = as_samples(read_samples(samples_from, split, users))
    if not samples:
        raise ConrecError(f"no {split} samples" + (" for the chosen users" if users else ""))
    sft = SFTConfig.from_dict(training.get("sft", {}))
    kind = training.get("prompt", "negatives")  # a GRPO checkpoint answers the prompt of its best stage
    positive_items = training.get("grpo", {}).get("positive_items")  # only a GRPO stage-3 prompt shows them
    streams = sample_streams(samples_from, samples, sft.stream_events) if sft.stream_prompts \
        else [None] * len(samples)
    prompts = [stage_prompt(codebook, kind, sample, sft, positive_items, stream)
               for sample, stream in zip(samples, streams)]
    seen = seen_items(samples_from, [s.sample_id for s in samples])
    excluded = [seen_rows(codebook, seen[s.sample_id]) for s in samples]
    return DecodingRun(codebook, backbone, sft, samples, prompts, excluded)


def predict(workspace, checkpoint: str, *, split: str = "test", users: list[str] | None = None,
            config: DecodingConfig = DecodingConfig(), load_in_4bit: bool = False,
            on_progress: Callable[[float, str], None] | None = None, save_as: str | None = None) -> PredictionRun:
    """Decode the top `config.returns` SIDs for the split's samples (of `users`, if given) and store them under
    `save_as` (default: the checkpoint's name)."""
    progress = on_progress or (lambda fraction, message: None)
    name = check_name(save_as, "prediction set") if save_as else checkpoint
    run = load_run(workspace, checkpoint, split, users, load_in_4bit, progress)
    samples, clock = run.samples, time.perf_counter()
    decoded = run.rank(workspace, config, progress)
    cold = [i for i, s in enumerate(samples) if len(s.context_negatives) < config.cold_negatives]
    if cold:
        decoded = cold_start(workspace, run.codebook, decoded, cold, run.excluded, config.returns)
    seconds = time.perf_counter() - clock
    codebook, records, hr, fhr = run.codebook, [], [], []
    for sample, result in zip(samples, decoded):
        ranked = [codebook.sids.item_ids[r] for r in result.rows]
        hr.append(hit_rate(ranked, sample.next_negative, config.returns))
        fhr.append(future_hit_rate(ranked, list(sample.future_negatives), config.returns))
        for rank, (row, score) in enumerate(zip(result.rows, result.scores), start=1):
            records.append((sample.sample_id, sample.user_id, sample.anchor_ts, rank, codebook.sids.sids[row],
                            codebook.sids.item_ids[row], score))
    write_predictions(workspace, name, [s.sample_id for s in samples], records)
    return PredictionRun(name, len(samples), sum(r.invalid for r in decoded), round(seconds, 2),
                         mean(hr), mean(fhr), config.returns)


def choose_prior(workspace, checkpoint: str, config: DecodingConfig = DecodingConfig(), *,
                 grid: tuple[float, ...] = WEIGHT_GRID,
                 on_progress: Callable[[float, str], None] | None = None) -> WeightChoice:
    """The popularity prior's weight for `checkpoint`, chosen by FHR@K on the validation samples."""
    progress = on_progress or (lambda fraction, message: None)
    run = load_run(workspace, checkpoint, "validation", progress=progress)
    done = [0]

    def batch_done(count: int) -> None:
        done[0] += count
        progress(done[0] / len(run.samples), f"ranked {done[0]:,} of {len(run.samples):,} samples")

    return choose_prior_weight(run.pools(workspace, replace(config, prior_weight=0.0), batch_done),
                               run.future_rows(), config.returns, grid)


def predict_choosing_prior(workspace, checkpoint: str, *, config: DecodingConfig = DecodingConfig(),
                           on_progress: Callable[[float, str], None] | None = None,
                           **options) -> tuple[PredictionRun, WeightChoice]:
    """`choose_prior` on the validation samples (the first half of the progress), then `predict` (`options`:
    its keyword arguments) with the chosen weight."""
    progress = on_progress or (lambda fraction, message: None)
    choice = choose_prior(workspace, checkpoint, config,
                          on_progress=lambda fraction, message: progress(fraction / 2, f"validation: {message}"))
    run = predict(workspace, checkpoint, config=replace(config, prior_weight=choice.weight),
                  on_progress=lambda fraction, message: progress(0.5 + fraction / 2, message), **options)
    return run, choice


def cold_start(workspace, codebook, decoded: list[Decoded], cold: list[int], excluded: list[list[int]],
               k: int) -> list[Decoded]:
    """The K most disliked unseen items (training part) in place of the model's SIDs for the `cold` samples,
    scored by the log of their share of the training negatives (the popularity prior's log-probability)."""
    rows_of = codebook.sids.item_to_row
    with open_workspace(workspace) as con:
        popular = [(rows_of[i], math.log(share)) for i, share in training_negative_shares(con) if i in rows_of]
    decoded = list(decoded)
    for index in cold:
        skip = set(excluded[index])
        chosen = [(row, score) for row, score in popular if row not in skip][:k]
        decoded[index] = Decoded([row for row, _ in chosen], [score for _, score in chosen], 0)
    return decoded
