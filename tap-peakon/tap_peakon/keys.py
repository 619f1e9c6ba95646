"""How each stream's `_id` is derived from a raw API item."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def as_int_or_self(value: Any) -> Any:
    """`int(value)` when it parses as one, else `value` unchanged (ids are strings in JSON:API)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def stable_hash(item: Any) -> str:
    """A hash of the item's canonical JSON: the same item always gets the same key."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def answer_key(item: dict[str, Any]) -> Any:
    answer_id = (item.get("attributes") or {}).get("answerId")
    for candidate in (answer_id, item.get("id")):
        if candidate is not None:
            parsed = as_int_or_self(candidate)
            if isinstance(parsed, int):
                return parsed
    return item.get("id")


def score_key(prefix: str, item: dict[str, Any]) -> str:
    """`prefix::id::scores.time`, or a stable hash when any part is missing."""
    scores = (item.get("attributes") or {}).get("scores")
    when = scores.get("time") if isinstance(scores, dict) else None
    parts = (prefix, item.get("id"), when)
    if any(part in {None, ""} for part in parts):
        return stable_hash(item)
    return "::".join(str(part) for part in parts)
