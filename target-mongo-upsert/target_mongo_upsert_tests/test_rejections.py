"""The depth rule on its own: the quick bound (on the content hash's JSON, envelope fields apart)
never changes the verdict of the exact walk, and a file decoded within depth holds no record too deep."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from target_mongo_upsert.changes import content_json
from target_mongo_upsert.rejections import MAX_DEPTH, decode_within_depth, depth, too_deep

from .helpers import objects


def nested(levels: int, leaf: Any) -> Any:
    for level in range(levels):
        leaf = {"k": leaf} if level % 2 else [leaf]
    return leaf


# JSON values, brackets inside strings included (they count in the bound, never in the depth).
def nesting(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values built of `leaves` in arrays and objects of up to four members."""
    return st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    )


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text("{[ab]}", max_size=30)
values = nesting(scalars)


@settings(max_examples=300)
@given(
    values,
    st.integers(min_value=MAX_DEPTH - 3, max_value=MAX_DEPTH + 3),
    st.integers(min_value=0, max_value=150),
    st.sets(st.sampled_from(["v", "s", "e"])),
)
def test_the_bound_agrees_with_the_walk(value: Any, levels: int, spare_brackets: int, envelope: set[str]) -> None:
    deep = nested(levels, value)
    for record in ({"v": value}, {"v": deep}, {"v": value, "s": "{" * spare_brackets}, {"v": value, "e": deep}):
        expected = depth(record) > MAX_DEPTH
        assert too_deep(record, content_json(record, envelope), envelope) == expected
        assert too_deep(record, None) == expected  # no JSON to count: the walk decides


def plain_arrays(value: Any) -> bool:
    """Every array in `value` holds plain values only."""
    if isinstance(value, list):
        return not any(isinstance(item, dict | list) for item in value)
    return all(plain_arrays(item) for item in value.values()) if isinstance(value, dict) else True


# What JSON text holds (no infinity), strings of any characters.
json_values = nesting(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)


@settings(max_examples=300)
@given(json_values, st.integers(min_value=MAX_DEPTH - 3, max_value=MAX_DEPTH + 3))
def test_a_file_decoded_within_depth_holds_exactly_its_records_none_too_deep(value: Any, levels: int) -> None:
    for record in ({"v": value}, objects(levels, value)):
        line = json.dumps(record).encode() + b"\n"
        decoded = decode_within_depth(line * 2)
        if decoded is None:  # measured one by one instead: only a record that could be too deep is
            assert depth(record) > MAX_DEPTH or not plain_arrays(record)
        else:
            assert decoded == [record, record]
            assert depth(record) <= MAX_DEPTH
    assert decode_within_depth(b"[1]\n") is None  # a line that is no object goes the general way
