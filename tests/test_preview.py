"""Drafting a mapping from a file: role, time-unit and kind guesses, and the mapping's JSON round trip."""

from pathlib import Path

import pytest

from conrec_core.data.mapping import load_mapping, mapping_to_dict, parse_mapping
from conrec_core.data.preview import ColumnValues, EventFilePreview, guess_kinds, guess_roles, looks_like_ratings

from conftest import REPO, write


def test_roles_are_guessed_from_common_column_names_each_column_once():
    assert guess_roles(["UserId", "MovieId", "Rating", "Timestamp"]) == {
        "user": "UserId", "item": "MovieId", "time": "Timestamp", "kind": "Rating", "reason": None}
    assert guess_roles(["a", "b"]) == {"user": None, "item": None, "time": None, "kind": None, "reason": None}
    assert guess_roles(["user", "item", "time", "type"])["kind"] == "type"


@pytest.mark.parametrize("times, unit", [("1700000000", "s"), ("1700000000000", "ms"),
                                         ("2023-11-14T22:13:20", "iso"), ("2023-11-14 22:13", "iso")])
def test_the_time_unit_is_guessed_from_the_values(tmp_path, times, unit):
    file = EventFilePreview(write(tmp_path / "e.csv", f"u,i,t,k\n1,2,{times},neg\n1,3,{times},pos\n"))
    assert file.guess_time_unit("t") == unit
    first, last = file.time_range("t", unit)
    assert (first.year, first.month, first.day) == (2023, 11, 14) and first == last


def test_values_count_the_commonest_first_and_say_whether_they_are_numbers(tmp_path):
    file = EventFilePreview(write(tmp_path / "e.csv", "u,i,t,stars\n1,2,3,1\n1,3,4,5\n2,3,5,5\n2,4,6,\n"))
    values = file.values("stars")
    assert values.values == (("5", 2), ("1", 1)) and values.distinct == 2 and values.numeric_share == 1.0
    assert looks_like_ratings(values)
    assert not looks_like_ratings(ColumnValues(values.values, distinct=500, numeric_share=1.0))  # ids, not stars
    assert not looks_like_ratings(ColumnValues((("click", 3),), distinct=1, numeric_share=0.0))


def test_kinds_are_guessed_from_the_words_in_each_value():
    guessed = guess_kinds(["dislike", "Not Interested", "unlike", "like", "add_to_cart", "view", "rated"])
    assert guessed == {"negative": ["dislike", "Not Interested", "unlike"], "positive": ["like", "add_to_cart"],
                       "neutral": ["view"]}


def test_a_mapping_survives_its_json_form(tmp_path):
    mapping = load_mapping(REPO / "tests" / "data" / "bad" / "true-dislikes-nan-weight" / "mapping.json")
    assert parse_mapping(mapping_to_dict(mapping), base_dir=Path("/elsewhere")) == mapping
    ratings = parse_mapping({"events": {"user": "u", "item": "i", "time": "t", "time_unit": "iso",
                                        "kind": {"column": "r", "negative_max": 2, "positive_min": 4},
                                        "delimiter": ";", "encoding": "latin-1"},
                             "items": {"path": "items.csv", "id": "i", "text": ["plot"]}, "unknown_items": "add"},
                            base_dir=tmp_path)
    assert parse_mapping(mapping_to_dict(ratings), base_dir=Path("/elsewhere")) == ratings
