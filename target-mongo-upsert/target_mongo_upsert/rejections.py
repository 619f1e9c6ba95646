"""Records MongoDB would refuse, or that cannot be keyed, kept aside instead of failing the batch.

A refused batch would fail every later run on the same page (its bookmark could never move). Such a
record goes to `rejected_records` with its stream, the reason and the raw record as text; the run
goes on and counts it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Collection
from typing import Any

import msgspec
from pymongo import UpdateOne

from target_mongo_upsert.changes import content_json

REJECTED_COLLECTION = "rejected_records"
MAX_DEPTH = 100  # MongoDB's limit on nested documents and arrays
NOT_JSON = "it holds a value that is not JSON"
CONTAINERS = (dict, list)  # tuples: isinstance takes them faster than `dict | list`
KEY_TYPES = (int, str)  # what MongoDB and a keyed collection take as `_id` (bool aside)


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


def reason(
    key: Any, record: dict[str, Any], content: bytes | None, envelope: Collection[str], *, within_depth: bool = False
) -> str | None:
    """Why MongoDB (or a keyed collection) cannot take this record, or None. `content`: the record's
    JSON without its `envelope` fields (changes.content_json), None when it has none (NOT_JSON then,
    unless a rule here names the cause). `within_depth`: known to nest no deeper than MongoDB allows
    (decode_within_depth), so not measured again."""
    if isinstance(key, bool) or not isinstance(key, KEY_TYPES):
        return f"its key is {type(key).__name__}, not an integer or a string"
    names = _names_problem(tuple(record))
    if names is not None:
        return names
    if not within_depth and too_deep(record, content, envelope):
        return f"nested deeper than {MAX_DEPTH} levels"
    return None


PLAIN = str | int | float | bool | None  # a JSON value that nests nothing


def _object_nesting_at_most(levels: int) -> Any:
    """The type of a JSON object nesting at most `levels` objects and arrays (itself the first), its
    arrays holding plain values only (arrays that may hold either container would make msgspec's type
    tree grow as 2**levels)."""
    value: Any = PLAIN
    for _ in range(levels - 1):
        value = PLAIN | list[PLAIN] | dict[str, value]
    return dict[str, value]


_within_depth = msgspec.json.Decoder(_object_nesting_at_most(MAX_DEPTH))


def decode_within_depth(lines: bytes) -> list[dict[str, Any]] | None:
    """JSON lines' records when each is an object sure to nest no deeper than MongoDB allows (its
    decoder's type cannot hold one that does: msgspec checks it as fast as it decodes untyped), else
    None: a record that is no object, or has an array of objects or arrays, is measured on its own.
    Raises msgspec.DecodeError when a line is not JSON."""
    try:
        return _within_depth.decode_lines(lines)
    except msgspec.ValidationError:
        return None


@functools.lru_cache(maxsize=1024)
def _names_problem(names: tuple[str, ...]) -> str | None:
    """What MongoDB refuses in these top-level names, or None (a stream's records share a few name lists)."""
    for name in names:
        if name.startswith("$"):
            return f"top-level field {name!r} starts with $"
        if "." in name:
            return f"top-level field {name!r} contains a dot"
    return None


def too_deep(record: dict[str, Any], content: bytes | None, envelope: Collection[str] = ()) -> bool:
    """Nested deeper than MongoDB allows? JSON text has one opening bracket per object or array (and
    perhaps more inside strings), so a record whose JSON (its content's, plus its envelope fields')
    has at most MAX_DEPTH of them, nearly every one, cannot be; only the others are walked.
    (Walking them all cost a quarter of the target's CPU; the content's JSON is the content hash's.)"""
    if content is None:
        return depth(record) > MAX_DEPTH
    brackets = content.count(b"{") + content.count(b"[")
    for name in envelope:
        value = record.get(name)
        if isinstance(value, CONTAINERS):
            text = content_json({name: value}, ())
            if text is None:
                return depth(record) > MAX_DEPTH
            brackets += text.count(b"{") + text.count(b"[") - 1  # its own outer braces are the record's
    return brackets > MAX_DEPTH and depth(record) > MAX_DEPTH


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
