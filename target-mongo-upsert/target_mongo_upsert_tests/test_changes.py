"""The content hash: one value per content, whatever the key order or envelope, and stable across
releases (a new scheme would mark every stored document changed on the next run)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from target_mongo_upsert.changes import content_hash, content_json

ENVELOPE = ("fetched_at", "run_id")
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)


def shuffled(value: Any, order: list[int]) -> Any:
    """The same value with every object's keys in another order."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: order[hash(k) % len(order)])
        return {k: shuffled(value[k], order) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, order) for v in value]
    return value


@given(st.dictionaries(st.text(max_size=4), values, max_size=6), st.lists(st.integers(), min_size=1), st.text())
def test_the_hash_ignores_key_order_and_envelope_fields(record: dict[str, Any], order: list[int], when: str) -> None:
    content = {k: v for k, v in record.items() if k not in ENVELOPE}
    moved = {**shuffled(content, order), "fetched_at": when, "run_id": when[::-1]}
    first, second = content_json(record, ENVELOPE), content_json(moved, ENVELOPE)
    assert first is not None
    assert second is not None
    assert content_hash(first) == content_hash(second)
    # The canonical form: JSON with keys sorted at every level, no spaces (what earlier releases hashed).
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert content_hash(first) == hashlib.sha256(canonical).hexdigest()


def test_the_hash_of_a_known_record_is_pinned() -> None:
    record = {"id": "7", "attributes": {"answerScore": 8, "b": [1, {"y": None, "x": "é"}]}, "run_id": "r1"}
    encoded = content_json(record, ENVELOPE)
    assert encoded == b'{"attributes":{"answerScore":8,"b":[1,{"x":"\xc3\xa9","y":null}]},"id":"7"}'
    assert encoded is not None
    assert content_hash(encoded) == "74fa8ed96cd0b421c3c307df27fb2867d582a1e6ce7244ade06a2405274ba882"
