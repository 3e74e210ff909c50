"""SASRec baselines (Kang & McAuley 2018): a causal Transformer over each user's feedback sequence that scores
every catalogue item as the next negative.

Two variants share the code: negatives only, and negatives + positives (each event carries a kind embedding and
the target at every position is the next *negative* after it). Training reads each user's events before their
validation cut; the best state on validation FHR@20 is kept. Histories are per-user arrays cut by binary search
at a sample's anchor time, so building them costs one pass over the events, never samples x events.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..errors import ConrecError
from ..metrics import future_hit_rate
from .sasrec_config import SASRecConfig
from ..decoding.prior import WEIGHT_GRID, best_weight, read_log_prior
from ..data.samples import seen_items
from ..data.workspace import open_workspace

Progress = Callable[[float, str], None]
NEGATIVE, POSITIVE = 1, 2  # kind ids; 0 pads


@dataclass
class History:
    """One user's negative (and positive) events, in time order."""
    times: np.ndarray  # datetime64[us]
    items: list[int]  # item indices (1-based; 0 pads)
    kinds: list[int]


def read_histories(con, item_index: dict[str, int], with_positives: bool) -> dict[str, History]:
    kinds = ["negative", "positive"] if with_positives else ["negative"]
    events = con.execute("SELECT user_id, item_id, ts, kind FROM events WHERE list_contains(?, kind) "
                         "ORDER BY user_id, ts, event_id", [kinds]).df()
    events["index"] = events["item_id"].map(item_index)
    events = events.dropna(subset=["index"])
    users = events["user_id"].to_numpy()
    times = events["ts"].to_numpy().astype("datetime64[us]")
    items = events["index"].astype(np.int64).tolist()
    kind_ids = np.where(events["kind"].to_numpy() == "negative", NEGATIVE, POSITIVE).tolist()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.array([], dtype=int)
    ends = np.r_[starts[1:], len(users)]
    return {users[a]: History(times[a:b], items[a:b], kind_ids[a:b]) for a, b in zip(starts, ends)}


def before(history: History, moment) -> History:
    """The part of the history strictly before `moment`."""
    end = int(np.searchsorted(history.times, np.datetime64(moment, "us"), side="left"))
    return History(history.times[:end], history.items[:end], history.kinds[:end])


def next_negative_targets(items: list[int], kinds: list[int]) -> list[int]:
    """At each position, the first negative strictly after it (-100 where none follows).

    >>> next_negative_targets([5, 6, 7, 8], [1, 2, 2, 1])
    [8, 8, 8, -100]
    """
    targets, upcoming = [], -100
    for item, kind in zip(reversed(items), reversed(kinds)):
        targets.append(upcoming)
        if kind == NEGATIVE:
            upcoming = item
    return targets[::-1]


def training_windows(histories: list[History], length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left-padded windows of `length` events with their next-negative targets, cut from the end of each
    history so every event is an input once."""
    items_rows, kinds_rows, target_rows = [], [], []
    for history in histories:
        targets = next_negative_targets(history.items, history.kinds)
        for end in range(len(history.items), 0, -length):
            start = max(0, end - length)
            if all(t == -100 for t in targets[start:end]):
                continue
            pad = length - (end - start)
            items_rows.append([0] * pad + history.items[start:end])
            kinds_rows.append([0] * pad + history.kinds[start:end])
            target_rows.append([-100] * pad + targets[start:end])
    return (np.array(items_rows, dtype=np.int64).reshape(-1, length),
            np.array(kinds_rows, dtype=np.int64).reshape(-1, length),
            np.array(target_rows, dtype=np.int64).reshape(-1, length))


class SASRec(nn.Module):
    def __init__(self, items: int, config: SASRecConfig):
        super().__init__()
        self.heads = config.heads
        self.item_embedding = nn.Embedding(items + 1, config.hidden_size, padding_idx=0)
        self.kind_embedding = nn.Embedding(3, config.hidden_size, padding_idx=0)
        self.position_embedding = nn.Embedding(config.max_length, config.hidden_size)
        layer = nn.TransformerEncoderLayer(config.hidden_size, config.heads, config.hidden_size * 2,
                                           config.dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, items: torch.Tensor, kinds: torch.Tensor) -> torch.Tensor:
        """Hidden state per position (batch, length, hidden)."""
        positions = torch.arange(items.shape[1], device=items.device)
        hidden = self.item_embedding(items) * self.item_embedding.embedding_dim ** 0.5
        hidden = self.dropout(hidden + self.kind_embedding(kinds) + self.position_embedding(positions))
        return self.norm(self.encoder(hidden, mask=attention_mask(items, self.heads)))

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.item_embedding.weight.T


def attention_mask(items: torch.Tensor, heads: int) -> torch.Tensor:
    """Causal mask that also hides padding; every position may see itself, so no row is all -inf."""
    batch, length = items.shape
    future = torch.ones(length, length, dtype=torch.bool, device=items.device).triu(1)
    hidden = future.unsqueeze(0) | (items == 0).unsqueeze(1)
    hidden &= ~torch.eye(length, dtype=torch.bool, device=items.device).unsqueeze(0)
    mask = torch.zeros(batch, length, length).masked_fill(hidden, float("-inf"))
    return mask.repeat_interleave(heads, dim=0)


@dataclass
class TrainedSASRec:
    model: SASRec
    item_index: dict[str, int]
    items: list[str]  # items[i - 1] is the id of index i
    histories: dict[str, History]
    config: SASRecConfig
    validation_fhr: list[tuple[int, float]]  # (step, FHR@20) at each check

    def training_summary(self) -> dict:
        """Where training stopped and which check's weights it kept: what a report shows of a learnt baseline."""
        best = max(self.validation_fhr, key=lambda check: check[1]) if self.validation_fhr else None
        return {"last_check": self.validation_fhr[-1][0] if self.validation_fhr else None,
                "best_step": best and best[0], "best_validation_fhr": best and best[1],
                "steps_cap": self.config.steps, "patience": self.config.patience,
                "validation_fhr": [list(check) for check in self.validation_fhr]}


def rank_sasrec(trained: TrainedSASRec, samples: pd.DataFrame, seen: list[set[str]], k: int = 20,
                batch_size: int = 256, prior: torch.Tensor | None = None, weight: float = 0.0) -> list[list[str]]:
    """Top-K item ids per sample (rows of `read_samples`), never one of the sample's `seen` items; with a
    `prior` (log prior per item index) ranked by log-softmax + weight · prior."""
    config, model = trained.config, trained.model
    empty = History(np.array([], dtype="datetime64[us]"), [], [])
    inputs = []
    for user, anchor in zip(samples["user_id"], samples["anchor_ts"]):
        history = before(trained.histories.get(user, empty), anchor)
        items, kinds = history.items[-config.max_length:], history.kinds[-config.max_length:]
        pad = config.max_length - len(items)
        inputs.append(([0] * pad + items, [0] * pad + kinds))
    model.eval()
    rankings: list[list[str]] = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            chunk = inputs[start:start + batch_size]
            items = torch.tensor([c[0] for c in chunk])
            kinds = torch.tensor([c[1] for c in chunk])
            scores = model.scores(model(items, kinds)[:, -1])
            if prior is not None and weight:
                scores = torch.log_softmax(scores, dim=1) + weight * prior
            scores[:, 0] = float("-inf")
            for row, items in enumerate(seen[start:start + batch_size]):
                scores[row, [trained.item_index[i] for i in items if i in trained.item_index]] = float("-inf")
            top = scores.topk(min(k, scores.shape[1] - 1), dim=1).indices
            rankings.extend([[trained.items[i - 1] for i in row] for row in top.tolist()])
    return rankings


def item_prior(workspace, trained: TrainedSASRec) -> torch.Tensor:
    """The popularity prior per item index (index 0, the padding, gets 0)."""
    with open_workspace(workspace) as con:
        prior = read_log_prior(con, trained.items)
    return torch.cat([torch.zeros(1), torch.from_numpy(prior).float()])


def choose_sasrec_prior(workspace, trained: TrainedSASRec, validation: pd.DataFrame, k: int = 20,
                        grid: tuple[float, ...] = WEIGHT_GRID) -> tuple[float, torch.Tensor, dict[float, float]]:
    """(weight, prior, validation FHR@K by weight): the prior's weight for a trained SASRec, chosen like the
    SID model's (decoding/prior_fusion.py) on the validation samples."""
    prior = item_prior(workspace, trained)
    seen = seen_items(workspace, validation["sample_id"])
    validation_seen = [set(seen[sample_id]) for sample_id in validation["sample_id"]]
    fhr = {}
    for weight in grid:
        ranked = rank_sasrec(trained, validation, validation_seen, k, prior=prior, weight=weight)
        fhr[weight] = float(np.mean([future_hit_rate(r, list(f), k)
                                     for r, f in zip(ranked, validation["future_negatives"])]))
    return best_weight(fhr), prior, fhr


def train_sasrec(workspace, config: SASRecConfig = SASRecConfig(), validation: pd.DataFrame | None = None,
                 on_progress: Progress | None = None) -> TrainedSASRec:
    """Train on every user's events before their validation cut; keep the best state on validation FHR@20."""
    progress = on_progress or (lambda fraction, message: None)
    torch.manual_seed(config.seed)
    generator = np.random.default_rng(config.seed)
    with open_workspace(workspace) as con:
        items = [i for (i,) in con.execute("SELECT item_id FROM items ORDER BY item_id").fetchall()]
        item_index = {item: index + 1 for index, item in enumerate(items)}
        histories = read_histories(con, item_index, config.with_positives)
        cuts = dict(con.execute("SELECT user_id, validation_cut FROM user_cuts").fetchall())
    training = [before(h, cuts[u]) for u, h in histories.items() if cuts.get(u) is not None]
    windows = training_windows(training, config.max_length)
    if not len(windows[0]):
        raise ConrecError("no user has a negative after another event in the training part: nothing to learn")
    model = SASRec(len(items), config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    trained = TrainedSASRec(model, item_index, items, histories, config, [])
    if validation is not None and len(validation) > config.eval_samples:
        validation = validation.sample(config.eval_samples, random_state=config.seed)
    if validation is not None:
        seen = seen_items(workspace, validation["sample_id"])
        validation_seen = [set(seen[sample_id]) for sample_id in validation["sample_id"]]
    best = (-1.0, copy.deepcopy(model.state_dict()))
    checks_without_gain = 0
    for step in range(1, config.steps + 1):
        model.train()
        rows = generator.integers(0, len(windows[0]), config.batch_size)
        items_batch, kinds_batch, targets = (torch.from_numpy(w[rows]) for w in windows)
        hidden = model(items_batch, kinds_batch)
        keep = targets != -100
        loss = nn.functional.cross_entropy(model.scores(hidden[keep]), targets[keep])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if validation is not None and (step % config.eval_every == 0 or step == config.steps):
            ranked = rank_sasrec(trained, validation, validation_seen)
            fhr = float(np.mean([future_hit_rate(r, list(f), 20)
                                 for r, f in zip(ranked, validation["future_negatives"])]))
            trained.validation_fhr.append((step, fhr))
            if fhr > best[0]:
                best, checks_without_gain = (fhr, copy.deepcopy(model.state_dict())), 0
            else:
                checks_without_gain += 1
            if config.patience and checks_without_gain >= config.patience:
                progress(1.0, f"SASRec: no better validation FHR@20 in {config.patience} checks, stopped at step "
                              f"{step}")
                break
        if step % 20 == 0 or step == config.steps:  # the cap, or how much of the patience is spent: the larger
            done = max(step / config.steps, checks_without_gain / config.patience if config.patience else 0.0)
            progress(min(done, 0.99), f"SASRec step {step}, loss {loss.item():.3f}")
    if validation is not None:
        model.load_state_dict(best[1])
    model.eval()
    return trained
