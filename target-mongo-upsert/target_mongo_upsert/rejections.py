"""Records MongoDB would refuse, or that cannot be keyed, kept aside instead of failing the batch.

A refused batch would fail every later run on the same page (its bookmark could never move). Such a
record goes to `rejected_records` with its stream, the reason and the raw record as text; the run
goes on and counts it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import msgspec
from pymongo import UpdateOne

REJECTED_COLLECTION = "rejected_records"
MAX_DEPTH = 100  # MongoDB's limit on nested documents and arrays
_encode = msgspec.json.Encoder().encode


def depth(value: Any) -> int:
    """How deeply `value` nests objects and arrays (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def reason(key: Any, record: dict[str, Any]) -> str | None:
    """Why MongoDB (or a keyed collection) cannot take this record, or None."""
    if isinstance(key, bool) or not isinstance(key, int | str):
        return f"its key is {type(key).__name__}, not an integer or a string"
    for name in record:
        if name.startswith("$"):
            return f"top-level field {name!r} starts with $"
        if "." in name:
            return f"top-level field {name!r} contains a dot"
    if too_deep(record):
        return f"nested deeper than {MAX_DEPTH} levels"
    return None


def too_deep(record: dict[str, Any]) -> bool:
    """Nested deeper than MongoDB allows? Its JSON text has one opening bracket per object or array
    (and perhaps more inside strings), so a record with at most MAX_DEPTH of them, nearly every one,
    cannot be; only the others are walked. (Walking them all cost a quarter of the target's CPU.)"""
    try:
        text = _encode(record)
    except (TypeError, ValueError, RecursionError, msgspec.MsgspecError):  # a type JSON has not, or very deep
        return depth(record) > MAX_DEPTH
    return text.count(b"{") + text.count(b"[") > MAX_DEPTH and depth(record) > MAX_DEPTH


def rejection(stream: str, why: str, key: Any, record: dict[str, Any], run_id: str | None) -> UpdateOne:
    """The upsert that keeps one rejected record (the same record twice is kept once)."""
    raw = json.dumps({"_id": key, **record}, sort_keys=True, default=str)
    identity = hashlib.sha256(f"{stream}\n{raw}".encode()).hexdigest()
    document = {
        "stream": stream,
        "reason": why,
        "record": raw,
        "run_id": run_id,
        "rejected_at": dt.datetime.now(dt.UTC),
    }
    return UpdateOne({"_id": identity}, {"$setOnInsert": document}, upsert=True)
