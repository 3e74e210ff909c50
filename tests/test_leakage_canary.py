"""The leakage canary: what happens after a cut must not change anything fitted before it.

Build every artefact on a small world, rewrite every event after each user's cut (other items, flipped kinds),
build again with the same seeds, and compare. After the test cut: the codebook (collaborative vectors
included), Swing, the SFT and GRPO weights and every validation figure must be identical. After the
validation cut: everything fitted on the training part (codebook, Swing, SFT weights) must be.
"""

import shutil

import pytest
from safetensors.torch import load_file

from conrec_core.data.importer import rebuild_samples
from conrec_core.data.samples import read_sample_config
from conrec_core.data.workspace import open_workspace
from conrec_core.lm.checkpoints import checkpoint_dir
from conrec_core.lm.config import SFTConfig
from conrec_core.training.sft import train_sft
from conrec_core.rl.grpo import train_grpo
from conrec_core.rl.grpo_config import GRPOConfig
from conrec_core.rl.swing import ensure_swing
from conrec_core.semantic_ids.codebook import build_codebook
from conrec_core.semantic_ids.codebook_config import CodebookConfig
from conrec_core.semantic_ids.encoder_config import EncoderConfig

CODEBOOK = CodebookConfig(codebook_size=16, epochs=6, batch_size=64, code_decoder_steps=20,
                          encoder=EncoderConfig(collaborative="on"))  # collaborative vectors must see no test event
SFT = SFTConfig(steps=20, eval_every=10, checkpoint_every=20, eval_examples=10, ranking_samples=10)
GRPO = GRPOConfig(stages=("recent_negatives", "negatives"), betas=(0.04, 0.04), steps_per_stage=1,
                  prompts_per_step=2, group_size=2, eval_every=1, eval_samples=8)


def build(workspace, with_grpo: bool) -> dict:
    """Every artefact, and what the comparison reads of it."""
    codebook = build_codebook(workspace, config=CODEBOOK, compute_map=False)
    ensure_swing(workspace)
    sft = train_sft(workspace, "sft", config=SFT)
    built = {"codebook": codebook.fingerprint,
             "swing": swing_rows(workspace),
             "sft_weights": load_file(str(sft.folder / "model.safetensors")),
             "sft_validation": sft.summary["validation"]}
    if with_grpo:
        grpo = train_grpo(workspace, "grpo", "sft", GRPO)
        built["grpo_weights"] = load_file(str(checkpoint_dir(workspace, "grpo") / "model.safetensors"))
        built["grpo_validation"] = {key: grpo.summary[key] for key in ("warmup_validation", "validation")}
        built["grpo_stages"] = [stage["best"] for stage in grpo.summary["stages"]]
    return built


def swing_rows(workspace) -> list[tuple]:
    """The Swing table, scores to 9 decimals: DuckDB's parallel sums may differ in the last bit from run to run."""
    with open_workspace(workspace) as con:
        return con.execute("SELECT item_id, neighbour_id, rank, round(score, 9), common_users FROM swing_neighbours "
                           "ORDER BY item_id, rank").fetchall()


def rewrite_after(workspace, cut: str) -> int:
    """Shuffle the items of every event after each user's `cut` among themselves and flip negative and
    positive kinds; rebuild the samples with the same settings. Returns how many events changed."""
    with open_workspace(workspace, read_only=False) as con:
        con.execute(f"""
            CREATE TEMP TABLE later AS
            SELECT e.event_id, e.item_id,
                   row_number() OVER (ORDER BY e.event_id) AS position,
                   row_number() OVER (ORDER BY hash(e.event_id, 'canary')) AS shuffled
            FROM events e JOIN user_cuts c USING (user_id) WHERE e.ts >= c.{cut}""")
        con.execute("""
            UPDATE events SET
                item_id = (SELECT b.item_id FROM later a JOIN later b ON b.position = a.shuffled
                           WHERE a.event_id = events.event_id),
                kind = CASE kind WHEN 'negative' THEN 'positive' WHEN 'positive' THEN 'negative' ELSE kind END
            WHERE event_id IN (SELECT event_id FROM later)""")
        changed = con.execute("SELECT count(*) FROM later").fetchall()[0][0]
    rebuild_samples(workspace, read_sample_config(workspace))
    return changed


def copy_of(source, folder):
    folder.mkdir()
    shutil.copy(source, folder / "ws.duckdb")
    return folder / "ws.duckdb"


def assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equal(b[name]), name


@pytest.fixture(scope="module")
def reference(small_world, tmp_path_factory):
    workspace = copy_of(small_world, tmp_path_factory.mktemp("canary") / "reference")
    return build(workspace, with_grpo=True)


def test_nothing_after_the_test_cut_reaches_training_or_validation(reference, small_world, tmp_path):
    workspace = copy_of(small_world, tmp_path / "rewritten")
    assert rewrite_after(workspace, "test_cut") > 0
    again = build(workspace, with_grpo=True)
    assert again["codebook"] == reference["codebook"]
    assert again["swing"] == reference["swing"] and reference["swing"]
    assert_same_tensors(again["sft_weights"], reference["sft_weights"])
    assert again["sft_validation"] == reference["sft_validation"]
    assert_same_tensors(again["grpo_weights"], reference["grpo_weights"])
    assert again["grpo_validation"] == reference["grpo_validation"]
    assert again["grpo_stages"] == reference["grpo_stages"]


def test_nothing_after_the_validation_cut_reaches_training(reference, small_world, tmp_path):
    workspace = copy_of(small_world, tmp_path / "rewritten")
    assert rewrite_after(workspace, "validation_cut") > 0
    again = build(workspace, with_grpo=False)
    assert again["codebook"] == reference["codebook"]
    assert again["swing"] == reference["swing"]
    assert_same_tensors(again["sft_weights"], reference["sft_weights"])
    # the validation samples themselves changed, so their figures may: the canary is the weights
    assert again["sft_validation"] != reference["sft_validation"]
