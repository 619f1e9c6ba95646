"""Page-file lines made from a page's bytes: the same record the decoded path makes, or a refusal."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st
from tap_peakon.keys import answer_key, answer_key_of
from tap_peakon.page_lines import ItemLines, envelope_bytes, line, raw_items

TOP = ("id", "type", "attributes")
ATTRIBUTES = ("answerId", "answerScore", "questionText")
LINES = ItemLines(TOP, ATTRIBUTES, "answerId")
ENVELOPE = {"fetched_at": "2026-12-01T00:00:00+00:00", "run_id": "r", "endpoint": "answers_export", "source_url": "u"}

# What JSON holds (no NaN, no infinity: msgspec would write them as null).
numbers = st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | numbers | st.text()
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
)
names = st.sampled_from([*ATTRIBUTES, "surveyChannel", "extra"])
attributes = st.none() | values | st.dictionaries(names, values | st.integers(0, 10**6).map(str), max_size=5)
items = st.dictionaries(st.sampled_from([*TOP, "meta", "fetched_at", "_id"]), values, max_size=5).flatmap(
    lambda item: st.builds(lambda a: {**item, "attributes": a} if "attributes" in item else item, attributes)
)


def described(item: dict[str, Any]) -> bool:
    inner = item.get("attributes")
    return set(item) <= set(TOP) and (inner is None or (isinstance(inner, dict) and set(inner) <= set(ATTRIBUTES)))


@given(st.lists(items | values, max_size=6))
def test_a_described_item_becomes_its_record_and_any_other_is_refused(data: list[Any]) -> None:
    page = raw_items(msgspec.json.encode({"data": data, "links": {"next": None}}))
    assert page is not None
    assert page.links == {"next": None}
    for item, raw in zip(data, page.data, strict=True):
        parts = LINES.key_parts(raw)
        if not isinstance(item, dict) or not described(item):
            assert parts is None
            continue
        assert parts is not None
        key = answer_key_of(*parts)
        assert key == answer_key(item)
        record = msgspec.json.decode(line(raw, envelope_bytes(ENVELOPE), key))
        expected = {**item, **ENVELOPE, "_id": key}
        assert list(record.items()) == list(expected.items())  # the same fields, in the same order


@given(st.sampled_from([b"[]", b"{}", b'{"data": {}}', b'{"data": null}', b"7"]))
def test_a_body_that_is_no_page_of_items_is_left_to_the_decoded_path(body: bytes) -> None:
    assert raw_items(body) is None


def test_an_item_with_a_value_msgspec_refuses_is_left_to_the_decoded_path() -> None:
    page = raw_items(b'{"data": [{"id": "1", "attributes": {"answerScore": 1e400}}, {"id": "1", "type": "\xff"}]}')
    assert page is not None
    assert [LINES.key_parts(item) for item in page.data] == [None, None]
