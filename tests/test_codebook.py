"""Codebooks trained for real: on both sample datasets (quality targets) and on a small world (fast checks)."""

import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from conrec_core.semantic_ids.codebook import build_codebook
from conrec_core.semantic_ids.codebook_config import CodebookConfig
from conrec_core.semantic_ids.store import CodebookMismatch, load_codebook, require_fingerprint
from conrec_core.views.codebook import codebook_items, fourth_token_items, hierarchy_counts, search_items
from conrec_core.semantic_ids.encoder_config import EncoderConfig
from conrec_core.data.importer import import_source
from conrec_core.semantic_ids.item_index import ItemIndex
from conrec_core.semantic_ids.sids import parse_sid
from conrec_core.data.workspace import open_workspace

from conftest import write

QUICK = CodebookConfig(epochs=8, warmup_epochs=3, batch_size=64, code_decoder_steps=100, codebook_size=64)


# The default codebook on a whole sample (3,000 or 9,742 items, map included) takes minutes: these tests run
# with -m slow; the default run trains codebooks on the 200-item small world through the same code.
SAMPLES = [pytest.param(name, marks=pytest.mark.slow) for name in ("synthetic-shop", "movielens-small")]


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_codebooks_meet_the_quality_targets(sample_codebooks, name):
    path, result = sample_codebooks[name]
    report = result.report
    assert report.reconstruction_cosine_mean >= 0.9
    assert report.reconstruction_cosine_p10 > 0.8
    assert all(used > 0.5 for used in report.utilisation)  # dead-code restarts keep the codebooks in use
    assert all(1 < p <= 256 for p in report.perplexity)
    assert report.fourth_token_share < 0.1 and report.largest_collision_group >= 1
    assert len(report.loss_curve) == CodebookConfig().epochs and report.code_decoder_curve
    assert report.loss_curve[-1]["loss"] < report.loss_curve[CodebookConfig().autoencoder_epochs]["loss"]
    # co-occurrence vectors are in the default encoder's fusion (fitted on the training part)
    expected_parts = {"text", "image", "collaborative"} if name == "synthetic-shop" else {"text", "collaborative"}
    assert set(result.parts) == expected_parts


@pytest.mark.parametrize("name", SAMPLES)
def test_sids_are_one_to_one_and_round_trip(sample_codebooks, name):
    path, _ = sample_codebooks[name]
    codebook = load_codebook(path)
    with open_workspace(path) as con:
        items = [i for (i,) in con.execute("SELECT item_id FROM items ORDER BY item_id").fetchall()]
        distinct = con.execute("SELECT count(DISTINCT sid), count(*) FROM item_sids WHERE codebook = 'default'"
                               ).fetchall()[0]
    assert codebook.sids.item_ids == items and distinct == (len(items), len(items))
    for item in items[::97]:
        sid = codebook.sids.sid(item)
        assert codebook.sids.item(sid) == item
        assert parse_sid(sid) == codebook.sids.codes[codebook.sids.item_to_row[item]]
    assert all(len(c) in (3, 4) for c in codebook.sids.codes)


@pytest.mark.slow
def test_sid_vectors_are_the_sum_of_codewords(sample_codebooks):
    path, _ = sample_codebooks["synthetic-shop"]
    codebook = load_codebook(path)
    model = codebook.load_model()  # from safetensors
    codes = torch.from_numpy(codebook.sids.level_codes())
    per_level = model.quantizer.get_codes_from_indices(codes)  # (levels, items, dim)
    assert np.allclose(per_level.sum(dim=0).numpy(), codebook.vectors, atol=1e-5)
    items = codebook_items(path, "default")
    decoded = model.decode_codes(codes)
    from conrec_core.semantic_ids.encoder import encode_items
    features = encode_items(path)
    cosine = torch.nn.functional.cosine_similarity(decoded, torch.from_numpy(features.vectors), dim=1).numpy()
    assert np.allclose(cosine, items.reconstruction_cosine.to_numpy(), atol=1e-4)


@pytest.mark.slow  # three codebooks; tests/test_leakage_canary.py rebuilds one with the same seed in the default run
def test_same_seed_same_codebook_other_seed_other_codebook(small_world, tmp_path):
    copies = [tmp_path / f"ws{i}.duckdb" for i in range(3)]
    for copy in copies:
        shutil.copy(small_world, copy)
    first = build_codebook(copies[0], config=QUICK, compute_map=False)
    second = build_codebook(copies[1], config=QUICK, compute_map=False)
    assert first.fingerprint == second.fingerprint
    assert load_codebook(copies[0]).sids.sids == load_codebook(copies[1]).sids.sids
    other = build_codebook(copies[2], config=CodebookConfig(**{**QUICK.to_dict(), "seed": 1,
                                                              "encoder": EncoderConfig()}), compute_map=False)
    assert other.fingerprint != first.fingerprint


def test_the_code_decoder_changes_the_reported_quality_but_not_the_sids(small_world, tmp_path):
    """The pipeline keeps a codebook whose code decoder was fitted otherwise (`sid_settings`): it must not have
    changed a single SID."""
    from dataclasses import replace

    from conrec_core.experiment.resume import codebook_kept

    copies = [tmp_path / f"ws{i}.duckdb" for i in range(2)]
    for copy in copies:
        shutil.copy(small_world, copy)
    longer = build_codebook(copies[0], config=QUICK, compute_map=False)
    shorter = build_codebook(copies[1], config=replace(QUICK, code_decoder_steps=5), compute_map=False)
    assert load_codebook(copies[0]).sids.sids == load_codebook(copies[1]).sids.sids
    assert len(longer.report.code_decoder_curve) == 20 and len(shorter.report.code_decoder_curve) == 5
    assert longer.report.reconstruction_cosine_mean > shorter.report.reconstruction_cosine_mean
    assert codebook_kept(copies[1], "default", QUICK)
    assert not codebook_kept(copies[1], "default", replace(QUICK, latent_dim=16))


def test_later_stages_refuse_a_codebook_that_does_not_match(small_world, tmp_path):
    path = tmp_path / "ws.duckdb"
    shutil.copy(small_world, path)
    first = build_codebook(path, config=QUICK, compute_map=False)
    codebook = load_codebook(path)
    require_fingerprint(codebook, first.fingerprint, "checkpoint X")  # matching: no error
    build_codebook(path, name="other", config=CodebookConfig(**{**QUICK.to_dict(), "seed": 3,
                                                                "encoder": EncoderConfig()}), compute_map=False)
    with pytest.raises(CodebookMismatch, match=r"checkpoint X was made with codebook fingerprint [0-9a-f]{12}, "
                                               r"but codebook 'other' is [0-9a-f]{12}"):
        require_fingerprint(load_codebook(path, "other"), first.fingerprint, "checkpoint X")
    # weights swapped on disk: the workspace's record no longer matches the files
    other_dir = load_codebook(path, "other").directory
    shutil.copy(other_dir / "model.safetensors", codebook.directory / "model.safetensors")
    with pytest.raises(CodebookMismatch, match="are not the ones the workspace's SIDs came from"):
        load_codebook(path)


def test_a_failed_save_keeps_the_old_codebook_whole(small_world, tmp_path, monkeypatch):
    from conrec_core.errors import WorkspaceError
    from conrec_core.semantic_ids import store

    path = tmp_path / "ws.duckdb"
    shutil.copy(small_world, path)
    first = build_codebook(path, config=QUICK, compute_map=False)

    def locked(*args, **kwargs):
        raise WorkspaceError("the workspace is in use by another conrec process")
    monkeypatch.setattr(store, "_write_tables", locked)  # the database write fails after the files are written
    with pytest.raises(WorkspaceError):
        build_codebook(path, config=CodebookConfig.from_dict({**QUICK.to_dict(), "seed": 5}), compute_map=False)
    assert load_codebook(path).fingerprint == first.fingerprint  # files and tables still agree
    assert [p.name for p in load_codebook(path).directory.parent.iterdir()] == ["default"]  # no leftovers


def test_codebook_of_an_id_only_log_uses_collaborative_vectors(tmp_path):
    rows = [f"u{u},i{(u * 7 + k * 3) % 40},{1000 + k},{'neg' if k % 4 == 0 else 'pos'}"
            for u in range(30) for k in range(12)]
    events = write(tmp_path / "e.csv", "u,i,t,k\n" + "\n".join(rows) + "\n")
    (tmp_path / "m.json").write_text('{"events": {"user": "u", "item": "i", "time": "t", '
                                     '"kind": {"column": "k", "negative": ["neg"], "positive": ["pos"]}}}')
    import_source(events, tmp_path / "ws.duckdb", mapping=tmp_path / "m.json")
    result = build_codebook(tmp_path / "ws.duckdb", config=QUICK, compute_map=False)
    assert result.parts == {"collaborative": 40}
    assert len(set(load_codebook(tmp_path / "ws.duckdb").sids.sids)) == 40


@pytest.mark.slow  # an 8,192-code codebook on 200 items: about a minute under load, and only the size is new
def test_a_large_codebook_size_trains(small_world, tmp_path):
    path = tmp_path / "ws.duckdb"
    shutil.copy(small_world, path)
    config = CodebookConfig(**{**QUICK.to_dict(), "codebook_size": 8192, "encoder": EncoderConfig()})
    result = build_codebook(path, config=config, compute_map=False)
    assert len(result.report.utilisation) == 3 and result.report.items == 200


def test_codes_too_few_for_the_catalogue_are_widened_and_the_codebook_is_kept_as_asked(small_world, tmp_path):
    from conrec_core.experiment.resume import codebook_kept

    path = tmp_path / "ws.duckdb"
    shutil.copy(small_world, path)
    asked = replace(QUICK, codebook_size=2)
    result = build_codebook(path, config=asked, compute_map=False)
    assert result.config.codebook_size == 8  # 8^3 = 512 prefixes for 200 items, 4^3 = 64 too few
    book = load_codebook(path)
    assert book.config.codebook_size == 8 and max(len(codes) for codes in book.sids.codes) <= 4
    assert codebook_kept(path, "default", asked) and not codebook_kept(path, "default", replace(asked, seed=1))


@pytest.mark.slow
def test_views_hierarchy_search_collisions_and_neighbours(sample_codebooks):
    path, _ = sample_codebooks["synthetic-shop"]
    items = codebook_items(path, "default")
    assert {"a", "b", "c", "x", "y", "collision_rank"} <= set(items.columns)
    assert items[["x", "y"]].notna().all().all()
    counts = hierarchy_counts(items, depth=2)
    assert counts["items"].sum() == len(items) and counts.a_token.str.match(r"<a_\d+>").all()
    dresses = search_items(items, "dress")
    assert len(dresses) and dresses.title.str.lower().str.contains("dress").all()
    prefix = items.sid.iloc[0][: items.sid.iloc[0].index(">") + 1]
    assert (search_items(items, prefix).sid.str.startswith(prefix)).all()
    shared = fourth_token_items(items)
    assert len(shared) == items.collision_rank.notna().sum()
    assert (shared.groupby("prefix").size() >= 2).all()
    index = ItemIndex(list(items.item_id), np.stack(items.vector.to_numpy()))
    neighbours = index.nearest(items.item_id.iloc[0], k=5)
    assert len(neighbours) == 5 and items.item_id.iloc[0] not in [n for n, _ in neighbours]
    assert [s for _, s in neighbours] == sorted([s for _, s in neighbours], reverse=True)


def test_a_codebook_whose_workspace_was_imported_again_meanwhile_is_not_saved(lm_world, tmp_path):
    import numpy as np
    import pytest

    from conrec_core.data.workspace import open_workspace
    from conrec_core.errors import ConrecError
    from conrec_core.semantic_ids.store import codebook_dir, load_codebook, save_codebook

    from conftest import writable_copy

    workspace = writable_copy(lm_world, tmp_path / "w")
    book = load_codebook(workspace)
    files = sorted(p.name for p in codebook_dir(workspace, "default").iterdir())
    with open_workspace(workspace, read_only=False) as con:  # what a new import under the codebook's feet leaves
        gone = con.execute("SELECT min(item_id) FROM items").fetchall()[0][0]
        con.execute("DELETE FROM items WHERE item_id = ?", [gone])
        before = con.execute("SELECT fingerprint FROM codebooks WHERE name = 'default'").fetchall()
    with pytest.raises(ConrecError, match="the workspace changed while it trained"):
        save_codebook(workspace, "default", book.load_model(), book.config, book.sids, book.vectors,
                      np.ones(len(book.sids.item_ids), dtype=np.float32), book.report, None)
    with open_workspace(workspace) as con:
        assert con.execute("SELECT fingerprint FROM codebooks WHERE name = 'default'").fetchall() == before
    assert sorted(p.name for p in codebook_dir(workspace, "default").iterdir()) == files
    assert not list(codebook_dir(workspace, "default").parent.glob(".*new-*"))


def test_a_catalogue_past_max_steps_trains_fewer_passes_with_a_quantised_one():
    from conrec_core.semantic_ids.training import train_rqvae

    vectors = np.random.default_rng(0).normal(size=(500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    config = replace(QUICK, codebook_size=16, max_steps=24)  # 8 steps a pass at batch 64: 3 passes, not 8
    trained = train_rqvae(vectors, config)
    assert [point["epoch"] for point in trained.loss_curve] == [1, 2, 3]
    quantised = [point["commitment"] is not None for point in trained.loss_curve]
    assert quantised == [False, True, True]  # the warm-up keeps its share: round(3 * 3 / 8) = 1 pass
    assert config.epochs_for(100) == QUICK.epochs  # a small catalogue keeps every pass


def test_a_large_catalogues_map_is_fitted_on_a_sample_and_places_the_rest_among_it(monkeypatch):
    from conrec_core.semantic_ids import item_map

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 10
    cluster = rng.integers(0, 3, 900)
    latents = (centres[cluster] + rng.normal(size=(900, 8))).astype(np.float32)
    monkeypatch.setattr(item_map, "MAP_FIT_ITEMS", 300)
    xy = item_map.map_coordinates(latents, seed=0, epochs=50)
    assert xy.shape == (900, 2) and np.isfinite(xy).all()
    fitted = np.sort(np.random.default_rng(0).choice(900, 300, replace=False))
    placed = np.setdiff1d(np.arange(900), fitted)
    # every placed item lies nearer its own cluster's fitted items than any other cluster's
    middles = np.stack([xy[fitted][cluster[fitted] == c].mean(axis=0) for c in range(3)])
    nearest = np.linalg.norm(xy[placed][:, None, :] - middles[None], axis=2).argmin(axis=1)
    assert (nearest == cluster[placed]).mean() > 0.95
    # the fitted items are UMAP's own map of them
    np.testing.assert_allclose(xy[fitted], item_map.map_coordinates(latents[fitted], seed=0, epochs=50))
