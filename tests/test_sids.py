import numpy as np
import pytest

from conrec_core.semantic_ids.sids import SemanticIds, format_sid, parse_sid, resolve_collisions


def test_format_and_parse():
    assert format_sid((12, 7, 201)) == "<a_12><b_7><c_201>"
    assert parse_sid("<a_12><b_7><c_201><d_0>") == (12, 7, 201, 0)
    for bad in ("<a_1><c_2>", "a_1", "<a_1>junk", ""):
        with pytest.raises(ValueError):
            parse_sid(bad)


def test_collisions_get_a_rank_by_distance_then_id_whatever_the_order():
    ids = ["x", "y", "z", "w"]
    codes = np.array([[1, 2, 3], [1, 2, 3], [4, 5, 6], [1, 2, 3]])
    distances = np.array([0.5, 0.1, 0.2, 0.5])
    full = resolve_collisions(ids, codes, distances)
    assert full == [(1, 2, 3, 2), (1, 2, 3, 0), (4, 5, 6), (1, 2, 3, 1)]  # x and w tie: "w" < "x"
    order = [3, 2, 1, 0]
    shuffled = resolve_collisions([ids[i] for i in order], codes[order], distances[order])
    assert dict(zip([ids[i] for i in order], shuffled)) == dict(zip(ids, full))


def test_semantic_ids_lookups_and_guard():
    sids = SemanticIds(item_ids=["x", "y"], codes=[(1, 2, 3, 0), (1, 2, 3, 1)], levels=3)
    assert sids.sid("y") == "<a_1><b_2><c_3><d_1>" and sids.item("<a_1><b_2><c_3><d_0>") == "x"
    assert sids.with_prefix("<a_1><b_2>") == ["x", "y"] and sids.fourth_token_share == 1.0
    assert sids.level_codes().tolist() == [[1, 2, 3], [1, 2, 3]]
    with pytest.raises(ValueError, match="not one-to-one"):
        SemanticIds(item_ids=["x", "y"], codes=[(1, 2, 3), (1, 2, 3)], levels=3)
