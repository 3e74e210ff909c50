"""The stream model: a SID model that reads each user's whole stream of events (every kind, each SID followed by
its kind token), ranks by how likely the user meets an item and rejects it, and goes through SFT, prediction,
GRPO and scoring like any SID model. Real steps of the tiny model on the small world."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from conrec_core.data.samples import as_samples, read_samples
from conrec_core.data.streams import UserStream, sample_streams
from conrec_core.data.workspace import open_workspace
from conrec_core.decoding.decoding_config import DecodingConfig
from conrec_core.decoding.item_trie import rejection_sequences
from conrec_core.decoding.predict import load_run, predict
from conrec_core.decoding.prediction_store import read_predictions
from conrec_core.decoding.score import score_users
from conrec_core.lm.checkpoints import load_checkpoint, checkpoint_dir
from conrec_core.lm.config import SFTConfig
from conrec_core.lm.prompts import event_streams, read_task_data
from conrec_core.lm.vocab import KIND_TOKENS
from conrec_core.rl.grpo import train_grpo
from conrec_core.rl.grpo_config import GRPOConfig
from conrec_core.semantic_ids.store import load_codebook
from conrec_core.training.sft import train_sft

from conftest import writable_copy
from decoding_reference import sid_logprobs

STREAM = SFTConfig(tasks=("event_stream",), task_weights=(1.0,), steps=40, eval_every=20, checkpoint_every=20,
                   eval_examples=20, ranking_samples=20, stream_events=12)


def test_a_stream_ends_before_the_anchor_in_time_then_event_order():
    stream = UserStream(np.array([10, 20, 20, 30], dtype=np.int64), np.array([1, 5, 7, 2], dtype=np.int64),
                        ["a", "b", "c", "d"], ["positive", "negative", "neutral", "negative"])
    at = datetime(1970, 1, 1) + timedelta(microseconds=20)
    assert stream.before(at, 7) == [("a", "positive"), ("b", "negative")]  # same time, earlier event id only
    assert stream.before(at, 5) == [("a", "positive")]
    assert stream.before(at) == [("a", "positive")]  # a cut: strictly before
    assert stream.before(at, at_or_before=True) == [("a", "positive"), ("b", "negative"), ("c", "neutral")]  # as of
    assert stream.before(at.replace(tzinfo=timezone.utc), limit=1, at_or_before=True) == [("c", "neutral")]


def test_each_sample_reads_its_users_events_before_its_anchor(lm_world):
    samples = as_samples(read_samples(lm_world, "test"))[:15]
    streams = sample_streams(lm_world, samples, limit=1000)
    with open_workspace(lm_world) as con:
        events = con.execute("SELECT e.user_id, e.item_id, e.kind, e.ts, e.event_id, s.sample_id FROM events e "
                             "JOIN samples s USING (user_id) WHERE e.ts < s.anchor_ts OR (e.ts = s.anchor_ts AND "
                             "e.event_id < s.anchor_event_id) ORDER BY e.ts, e.event_id").df()
    for sample, stream in zip(samples, streams):
        expected = events[events["sample_id"] == sample.sample_id]
        assert stream == list(zip(expected["item_id"], expected["kind"]))
    assert any(kind == "positive" for stream in streams for _, kind in stream)  # every kind, not negatives only


def test_training_windows_hold_each_event_as_its_sid_and_kind_from_the_training_part_only(lm_world):
    codebook = load_codebook(lm_world)
    data = read_task_data(lm_world, codebook, streams=True)
    examples = event_streams(data, codebook, STREAM)
    assert examples and all(e.prompt == "Events: " and not e.ends for e in examples)
    user, events = next((u, s) for u, s in sorted(data.training_streams().items()) if len(s) > STREAM.stream_events)
    with open_workspace(lm_world) as con:
        expected = con.execute("SELECT e.item_id, e.kind FROM events e JOIN user_cuts c USING (user_id) WHERE "
                               "e.user_id = ? AND e.ts < c.validation_cut ORDER BY e.ts, e.event_id", [user]).fetchall()
    assert events == expected
    window = events[-STREAM.stream_events:]  # the user's last window ends at their last training event
    assert "".join(codebook.sids.sid(i) + KIND_TOKENS[k] for i, k in window) in {e.target for e in examples}


@pytest.fixture(scope="module")
def stream_world(lm_world, tmp_path_factory):
    workspace = writable_copy(lm_world, tmp_path_factory.mktemp("stream"))
    result = train_sft(workspace, "stream", config=STREAM)
    return workspace, result


def test_the_stream_model_learns_kind_tokens_and_ranks_by_meeting_and_rejecting(stream_world):
    workspace, result = stream_world
    backbone, training = load_checkpoint(checkpoint_dir(workspace, "stream"), codebook=load_codebook(workspace))
    assert all(backbone.tokenizer.convert_tokens_to_ids(t) != backbone.tokenizer.unk_token_id
               for t in KIND_TOKENS.values())
    assert training["examples"]["event_stream"] > 0 and result.step > 0
    config = DecodingConfig(beams=10, returns=5, prior_candidates=5, stream_beams=30)
    run = predict(workspace, "stream", split="test", config=config)
    assert run.samples > 0 and run.invalid == 0
    decoding = load_run(workspace, "stream", "test")
    assert all(p.startswith("Events: ") for p in decoding.prompts)
    predictions = read_predictions(workspace, "stream")
    # each score is log p(SID, then the negative kind token | stream): the exact score of the pool, not the beam's
    first = predictions[predictions["sample_id"] == predictions["sample_id"].min()].sort_values("rank")
    assert decoding.candidate_beams(config) == 30  # more candidates than the top 10 for the re-ranking to choose from
    one = replace(decoding, samples=decoding.samples[:1], prompts=decoding.prompts[:1],
                  excluded=decoding.excluded[:1])
    [pool] = one.pools(workspace, config)
    assert len(pool.rows) == 30 + 5
    rejections = rejection_sequences(decoding.codebook, decoding.backbone.tokenizer)
    assert pool.model.tolist() == pytest.approx(sid_logprobs(decoding.backbone.model, decoding.backbone.tokenizer,
                                                             one.prompts[0], [rejections[r] for r in pool.rows],
                                                             free_end=True), abs=1e-3)
    # without a prior weight the prior's candidates stay out: predict ranks the 30 beams alone
    [beams] = one.pools(workspace, replace(config, prior_candidates=0))
    assert beams.rows == pool.rows[:30]
    expected = sorted(beams.model, reverse=True)[:5]
    assert np.allclose(sorted(first["score"], reverse=True), expected, atol=1e-4)
    seen = {s: set(decoding.codebook.sids.item_ids[r] for r in rows)
            for s, rows in zip([x.sample_id for x in decoding.samples], decoding.excluded)}
    assert not any(item in seen[sample] for sample, item in zip(predictions["sample_id"], predictions["item_id"]))


def test_grpo_and_score_run_on_a_stream_model(stream_world, tmp_path):
    source, _ = stream_world
    workspace = writable_copy(source, tmp_path / "grpo")
    result = train_grpo(workspace, "stream-grpo", "stream",
                        GRPOConfig(steps_per_stage=1, prompts_per_step=2, group_size=2, eval_every=1, eval_samples=6))
    assert (checkpoint_dir(workspace, "stream-grpo") / "training.json").is_file()
    end = datetime(2100, 1, 1, tzinfo=timezone.utc)
    scored = score_users(workspace, "stream-grpo", tmp_path / "s.parquet", top_k=5, as_of=end)
    table = pd.read_parquet(tmp_path / "s.parquet")
    assert scored.users > 0 and table.groupby("user")["rank"].max().eq(5).all()
    with open_workspace(workspace) as con:
        met = set(con.execute("SELECT user_id || '|' || item_id FROM events").fetchall())
    assert not any((f"{u}|{i}",) in met for u, i in zip(table["user"], table["item"]))
