"""Schema drift: every field a stream's schema does not describe is counted, wherever records vary."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tap_peakon.client import PeakonStream
from tap_peakon.tap import TapPeakon

TAP = TapPeakon(
    config={"app_token": "unused", "base_url": "http://127.0.0.1:9/api/v1", "company_id": 1}, setup_mapper=False
)
NAMES = st.text(alphabet="abcdefXYZ_", min_size=1, max_size=8)


def fields(described: frozenset[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some described fields and some unknown ones, with any JSON-like values."""
    return st.dictionaries(st.sampled_from(sorted(described)) | NAMES, st.integers() | st.none(), max_size=12)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), stream_name=st.sampled_from(["answers_export", "employees", "scores_contexts"]))
def test_drift_counts_exactly_the_undescribed_fields(data: st.DataObject, stream_name: str) -> None:
    stream = TAP.streams[stream_name]
    assert isinstance(stream, PeakonStream)
    top, attributes = stream.described
    rows = data.draw(st.lists(st.tuples(fields(top), st.one_of(st.none(), fields(attributes))), max_size=5))
    stream.stats.schema_drift[stream_name].clear()
    expected: dict[str, int] = {}
    for outer, inner in rows:
        row = {**outer, "attributes": inner} if inner is not None else dict(outer)
        unknown = set(row) - top
        if inner is not None and not stream.custom_attributes:
            unknown |= {f"attributes.{name}" for name in set(inner) - attributes}
        for path in unknown:
            expected[path] = expected.get(path, 0) + 1
        stream.note_drift(row)
    assert stream.stats.schema_drift[stream_name] == expected
