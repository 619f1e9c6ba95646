"""How each stream's `_id` is derived from a raw API item."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def as_int_or_self(value: Any) -> Any:
    """`int(value)` when it parses as one, else `value` unchanged (ids are strings in JSON:API)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return value


def stable_hash(item: Any) -> str:
    """A hash of the item's canonical JSON: the same item always gets the same key."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


ANSWER_KEY_FIELD = "answerId"  # the attribute an answer's key comes from


def answer_key(item: dict[str, Any]) -> Any:
    attributes = item.get("attributes")
    answer_id = attributes.get(ANSWER_KEY_FIELD) if isinstance(attributes, dict) else None
    return answer_key_of(answer_id, item.get("id"))


def answer_key_of(answer_id: Any, item_id: Any) -> Any:
    """The first of `answerId` and `id` that is an integer (or a string of one), else `id` as sent."""
    for candidate in (answer_id, item_id):
        if candidate is not None:
            parsed = as_int_or_self(candidate)
            if isinstance(parsed, int):
                return parsed
    return item_id


def score_key(prefix: str, item: dict[str, Any]) -> str:
    """`prefix::id::scores.time`, or a stable hash when any part is missing."""
    scores = (item.get("attributes") or {}).get("scores")
    when = scores.get("time") if isinstance(scores, dict) else None
    parts = (prefix, item.get("id"), when)
    if any(part in {None, ""} for part in parts):
        return stable_hash(item)
    return "::".join(str(part) for part in parts)
