import doctest

import numpy as np
import pytest

from conrec_core.evaluation import probes
from conrec_core.semantic_ids.store import load_codebook
from conrec_core.evaluation.probes import filter_simulation, forgetting_rate
from conrec_core.data.workspace import open_workspace


def test_docstring_examples_hold():
    assert doctest.testmod(probes).failed == 0


def test_filter_simulation_against_a_direct_count(evaluated_world):
    table = filter_simulation(evaluated_world, "tiny", thresholds=(0.3, 0.6, 0.9))
    assert (table[["filter_rate", "negatives_caught", "positives_filtered"]].diff().dropna() <= 1e-12).all().all()
    assert table["filter_rate"].between(0, 1).all() and table["candidates"].iloc[0] > 0
    # recount θ = 0.6 sample by sample, straight from the tables
    book = load_codebook(evaluated_world)
    unit, rows = book.unit_vectors(), book.sids.item_to_row
    with open_workspace(evaluated_world) as con:
        predicted = dict(con.execute("SELECT sample_id, list(item_id) FROM predictions WHERE checkpoint = 'tiny' "
                                     "GROUP BY sample_id").fetchall())
        events = con.execute("""SELECT s.sample_id, e.item_id, e.kind FROM samples s JOIN events e
                                ON e.user_id = s.user_id AND e.ts >= s.anchor_ts AND e.ts < s.window_end
                                WHERE s.split = 'test'""").fetchall()
    seen: dict[int, dict[str, set]] = {}
    for sample_id, item, kind in events:
        if sample_id in predicted and item in rows:
            seen.setdefault(sample_id, {}).setdefault(item, set()).add(kind)
    filtered = candidates = 0
    for sample_id, items in seen.items():
        chosen = unit[[rows[i] for i in predicted[sample_id] if i in rows]]
        for item in items:
            candidates += 1
            filtered += float(np.max(chosen @ unit[rows[item]])) >= 0.6 - 1e-9
    assert table.loc[1, "candidates"] == candidates
    assert table.loc[1, "filter_rate"] == pytest.approx(filtered / candidates)


def test_forgetting_is_measured_against_the_warmup(evaluated_world):
    same = forgetting_rate(evaluated_world, "tiny", "tiny")
    assert same["forgetting_rate"] == 0.0
    assert 0 < same["alignment_after"] == same["alignment_before"] <= 1
