import pandas as pd
import pytest

from conrec_core.data.importer import import_source
from conrec_core.shipped.sample_data import SAMPLES
from conrec_core.data.synthetic import ATTRIBUTES, generate_world, write_world
from conrec_core.data.synthetic_config import WorldConfig
from conrec_core.data.workspace import open_workspace

SMALL = WorldConfig(users=120, items=400, shops=30, days=28)


@pytest.fixture(scope="module")
def world():
    return generate_world(SMALL)


@pytest.fixture(scope="module")
def workspace(world, tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    events = write_world(world, folder)
    report = import_source(events, folder / "ws.duckdb", mapping=folder / "mapping.json")
    return folder / "ws.duckdb", report


def test_same_seed_same_world_other_seed_other_world(world):
    again = generate_world(SMALL)
    for name in ("items", "events", "true_dislikes"):
        pd.testing.assert_frame_equal(getattr(world, name), getattr(again, name))
    other = generate_world(WorldConfig(users=120, items=400, shops=30, days=28, seed=8))
    assert not world.events.equals(other.events)


def test_shipped_sample_is_the_generator_output():
    folder = SAMPLES["synthetic-shop"].folder
    shipped_events = pd.read_parquet(folder / "events.parquet")
    shipped_profiles = pd.read_csv(folder / "true_dislikes.csv")
    world = generate_world(WorldConfig())
    pd.testing.assert_frame_equal(shipped_events.reset_index(drop=True),
                                  world.events.sort_values(["ts", "user_id"], kind="stable").reset_index(drop=True),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(shipped_profiles, world.true_dislikes, check_dtype=False)


def test_every_user_has_a_ground_truth_profile(world):
    profiles = world.true_dislikes
    assert set(profiles.user_id) == set(world.events.user_id) | set(profiles.user_id)
    assert profiles.user_id.nunique() == SMALL.users
    assert set(profiles.facet) <= {"category"} | set(ATTRIBUTES)
    assert profiles.weight.between(0.5, 1.0).all()


def _matches_profile(world) -> pd.Series:
    """For each event: does the item carry a facet of the user's true dislike profile, or put everyone off?"""
    items = world.items.set_index("item_id")
    facets = {"category": items.category}
    for facet in ATTRIBUTES:  # attribute values are words of the title
        facets[facet] = items.title
    profile = world.true_dislikes.groupby("user_id")
    lookup = {u: list(zip(g.facet, g.value)) for u, g in profile}
    off_putting = items.off_putting

    def hit(row):
        if off_putting[row.item_id] > 0:
            return True
        for facet, value in lookup.get(row.user_id, []):
            text = facets[facet][row.item_id]
            if (facet == "category" and text == value) or (facet != "category" and f" {value} " in f" {text} "):
                return True
        return False
    return world.events.apply(hit, axis=1)


def test_interest_negatives_follow_the_true_profile(world):
    hits = _matches_profile(world)
    events = world.events
    interest = events.action.eq("not_interested") & events.reason.isin(["this_item", "category", "shop", "image"])
    shown = events.action.eq("impression")
    # nearly every taste-driven "not interested" hits a true dislike (a few are noise), far above the base rate
    assert hits[interest].mean() > 0.85
    assert hits[shown].mean() < 0.6 * hits[interest].mean()


def test_the_recommender_stops_showing_rejected_categories(world):
    items = world.items.set_index("item_id")
    events = world.events.assign(category=lambda e: items.category.reindex(e.item_id).to_numpy())
    rejected = events[events.action.eq("not_interested") & events.reason.eq("category")]
    assert len(rejected) > 20
    day = events.ts // 86400
    for row in rejected.itertuples():
        # the rest of the feed page was already on screen; every later page is ranked without the category
        later = events[(events.user_id == row.user_id) & (day > row.ts // 86400) & (events.category == row.category)]
        assert later.empty, f"{row.user_id} saw {row.category} again after rejecting it"


def test_import_drops_non_interest_reasons_and_keeps_profiles(world, workspace):
    path, report = workspace
    dropped = world.events[world.events.reason.isin(["already_bought", "clickbait_price", "counterfeit"])]
    assert sum(report.events.non_interest_dropped.values()) == len(dropped) > 0
    assert report.true_dislike_rows == len(world.true_dislikes)
    with open_workspace(path) as con:
        reasons = {r for (r,) in con.execute("SELECT DISTINCT reason FROM events WHERE kind = 'negative'").fetchall()}
        dims = con.execute("SELECT DISTINCT len(vector) FROM item_vectors WHERE name = 'image'").fetchall()
    assert reasons <= {"this_item", "category", "shop", "image"}
    assert dims == [(SMALL.image_dim,)]
    assert report.items.vectors == {"image": SMALL.image_dim}
