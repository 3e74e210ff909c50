"""A world where only the order of a user's negatives predicts the next one: every user rejects items i, i+1,
i+2, ... of a ring from a random start, so every item is disliked about as often as any other and popularity
says nothing. The SID model must learn the successor of each item from sequences alone, as SASRec does."""

import json

import numpy as np
import pandas as pd
import pytest

from conrec_core.data.importer import import_source
from conrec_core.evaluation.sasrec_config import SASRecConfig
from conrec_core.evaluation.scoring import evaluate_baseline, evaluate_predictions
from conrec_core.lm.config import SFTConfig
from conrec_core.decoding.predict import predict
from conrec_core.training.sft import train_sft
from conrec_core.semantic_ids.codebook import build_codebook
from conrec_core.semantic_ids.codebook_config import CodebookConfig

ITEMS, USERS, NEGATIVES = 48, 80, 14
K = 3


@pytest.fixture(scope="module")
def ring_world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ring")
    rng = np.random.default_rng(0)
    rows = [(f"u{user}", f"i{(start + step) % ITEMS}", 86_400 * (step + 1) + user, "not_interested")
            for user, start in enumerate(rng.integers(ITEMS, size=USERS)) for step in range(NEGATIVES)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "action"]).to_csv(folder / "events.csv", index=False)
    (folder / "mapping.json").write_text(json.dumps({"events": {
        "user": "user_id", "item": "item_id", "time": "ts", "time_unit": "s",
        "kind": {"column": "action", "negative": ["not_interested"]}}}))
    workspace = folder / "ws.duckdb"
    import_source(folder / "events.csv", workspace, mapping=folder / "mapping.json")  # id-only items
    build_codebook(workspace, config=CodebookConfig(codebook_size=8, epochs=8, warmup_epochs=3, batch_size=64,
                                                    code_decoder_steps=50), compute_map=False)
    return workspace


def test_the_sid_model_learns_what_only_the_order_of_negatives_tells(ring_world):
    popular = evaluate_baseline(ring_world, "most_disliked", "test", K)
    assert popular["hr"].mean() < 0.2  # popularity cannot tell the next item
    sft = SFTConfig(steps=300, eval_every=300, checkpoint_every=300, eval_examples=20,
                    ranking_samples=20).with_tasks(("next_negative",))
    train_sft(ring_world, "ring", config=sft)
    predict(ring_world, "ring", split="test")
    model = evaluate_predictions(ring_world, "ring", "test", K)
    assert len(model) == len(popular) > 20
    assert model["hr"].mean() >= 0.9  # the next negative is among the model's top 3 for almost every user
    sasrec = evaluate_baseline(ring_world, "sasrec_negatives", "test", K, SASRecConfig(steps=150, eval_every=50))
    assert sasrec["hr"].mean() >= 0.9  # the sequence baseline solves it too: the world really is about order
