"""Predicted negatives: a checkpoint decodes the top-K SIDs for each sample and writes them to the workspace."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import pandas as pd

from ..semantic_ids.store import Codebook, load_codebook
from .decoding import DecodingConfig, decode, sid_token_rows
from ..errors import ConrecError
from .checkpoints import checkpoint_dir, load_checkpoint, read_training
from .config import SFTConfig
from ..metrics import future_hit_rate, hit_rate, mean
from .prompts import stage_prompt
from .trie import SidTrie
from .vocab import sid_token_ids
from ..semantic_ids.sids import sid_token_list
from ..data.workspace import has_table, open_workspace

PREDICTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS predictions (
    checkpoint VARCHAR NOT NULL, sample_id BIGINT NOT NULL, user_id VARCHAR NOT NULL,
    anchor_ts TIMESTAMP NOT NULL, rank INTEGER NOT NULL,  -- 1 = most likely
    sid VARCHAR NOT NULL, item_id VARCHAR NOT NULL, score DOUBLE NOT NULL,  -- summed log-probability
    created_at TIMESTAMP NOT NULL, PRIMARY KEY (checkpoint, sample_id, rank));
"""


def sid_token_sequences(codebook: Codebook, tokenizer) -> list[list[int]]:
    """Token ids of every item's SID, in SemanticIds row order."""
    return [sid_token_ids(tokenizer, sid_token_list(codes)) for codes in codebook.sids.codes]


def item_trie(codebook: Codebook, tokenizer, vocab_size: int) -> tuple[SidTrie, dict[tuple[int, ...], int]]:
    sequences = sid_token_sequences(codebook, tokenizer)
    return SidTrie.build(sequences, vocab_size, tokenizer.eos_token_id), sid_token_rows(sequences)


def seen_rows(codebook: Codebook, context_negatives, context_positives) -> list[int]:
    """Rows of the items in a sample's context: candidates exclude them (method §2), for every method."""
    rows_of = codebook.sids.item_to_row
    return sorted({rows_of[i] for i in list(context_negatives) + list(context_positives) if i in rows_of})


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


def predict(workspace, checkpoint: str, *, split: str = "test", users: list[str] | None = None,
            config: DecodingConfig = DecodingConfig(), load_in_4bit: bool = False,
            on_progress: Callable[[float, str], None] | None = None) -> PredictionRun:
    """Decode the top `config.returns` SIDs for the split's samples (of `users`, if given) and store them."""
    progress = on_progress or (lambda fraction, message: None)
    folder = checkpoint_dir(workspace, checkpoint)
    training = read_training(folder)
    codebook = load_codebook(workspace, training.get("codebook", "default"))
    progress(0.0, "loading the checkpoint")
    backbone, training = load_checkpoint(folder, codebook=codebook, load_in_4bit=load_in_4bit)
    samples = read_samples(workspace, split, users)
    if samples.empty:
        raise ConrecError(f"no {split} samples" + (" for the chosen users" if users else ""))
    sft = SFTConfig.from_dict(training.get("sft", {}))
    vocab = max(len(backbone.tokenizer), backbone.model.get_output_embeddings().weight.shape[0])
    trie, token_rows = item_trie(codebook, backbone.tokenizer, vocab)
    kind = training.get("prompt", "negatives")  # a GRPO checkpoint answers the prompt of its best stage
    positive_items = training.get("grpo", {}).get("positive_items", 10)
    prompts = [stage_prompt(codebook, kind, sample, sft, positive_items) for sample in samples.to_dict("records")]
    excluded = [seen_rows(codebook, n, p) for n, p in zip(samples["context_negatives"], samples["context_positives"])]
    done, clock = [0], time.perf_counter()

    def batch_done(count: int) -> None:
        done[0] += count
        progress(done[0] / len(prompts), f"decoded {done[0]:,} of {len(prompts):,} samples")

    decoded = decode(backbone.model, backbone.tokenizer, trie, token_rows, prompts, config, excluded, batch_done)
    seconds = time.perf_counter() - clock
    records, hr, fhr = [], [], []
    for sample, result in zip(samples.itertuples(), decoded):
        ranked = [codebook.sids.item_ids[r] for r in result.rows]
        hr.append(hit_rate(ranked, sample.next_negative, config.returns))
        fhr.append(future_hit_rate(ranked, list(sample.future_negatives), config.returns))
        for rank, (row, score) in enumerate(zip(result.rows, result.scores), start=1):
            records.append((sample.sample_id, sample.user_id, sample.anchor_ts, rank, codebook.sids.sids[row],
                            codebook.sids.item_ids[row], score))
    write_predictions(workspace, checkpoint, samples["sample_id"].tolist(), records)
    return PredictionRun(checkpoint, len(samples), sum(r.invalid for r in decoded), round(seconds, 2),
                         mean(hr), mean(fhr), config.returns)


def read_samples(workspace, split: str, users: list[str] | None) -> pd.DataFrame:
    with open_workspace(workspace) as con:
        query = ("SELECT sample_id, user_id, anchor_ts, next_negative, recent_negatives, context_negatives, "
                 "context_positives, future_negatives, long_tail_user FROM samples WHERE split = ?")
        if users:
            return con.execute(query + " AND list_contains(?, user_id) ORDER BY sample_id",
                               [split, [str(u) for u in users]]).df()
        return con.execute(query + " ORDER BY sample_id", [split]).df()


def write_predictions(workspace, checkpoint: str, sample_ids: list[int], records: list[tuple]) -> None:
    frame = pd.DataFrame(records, columns=["sample_id", "user_id", "anchor_ts", "rank", "sid", "item_id", "score"])
    frame.insert(0, "checkpoint", checkpoint)
    frame["created_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
    with open_workspace(workspace, read_only=False) as con:
        con.execute(PREDICTIONS_TABLE)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM predictions WHERE checkpoint = ? AND list_contains(?, sample_id)",
                    [checkpoint, sample_ids])
        con.register("new_predictions", frame)
        con.execute("INSERT INTO predictions SELECT checkpoint, sample_id, user_id, anchor_ts, rank, sid, item_id, "
                    "score, created_at FROM new_predictions")
        con.execute("COMMIT")


def read_predictions(workspace, checkpoint: str) -> pd.DataFrame:
    with open_workspace(workspace) as con:
        if not has_table(con, "predictions"):
            return pd.DataFrame()
        return con.execute("""
            SELECT p.*, i.title FROM predictions p LEFT JOIN items i USING (item_id)
            WHERE p.checkpoint = ? ORDER BY p.sample_id, p.rank""", [checkpoint]).df()
