"""`<collection>_history`: one document per version of a record, for the streams the `history`
setting names, so an analyst can ask what a record was at any time (an employee's department or
manager when an answer was given).

A version is a key with a content hash: `valid_from` when it was first written, `valid_to` null while
it is current, set when a newer version or the key's removal is seen. A rerun with unchanged content
adds no version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pymongo import ReplaceOne
from pymongo.collection import Collection

SUFFIX = "_history"


def version_id(key: Any, content_hash: str, valid_from: dt.datetime) -> str:
    return f"{key}::{content_hash[:16]}::{valid_from.isoformat(timespec='milliseconds')}"


def close(history: Collection[dict[str, Any]], keys: Iterable[Any], at: dt.datetime) -> int:
    """End the current version of each key at `at` (whole replacements: dates stay typed on every server)."""
    # The null test is made here: beside another condition it is not faithful on every compatible server.
    current = [d for d in history.find({"key": {"$in": list(keys)}}) if d.get("valid_to") is None]
    if current:
        history.bulk_write([ReplaceOne({"_id": d["_id"]}, {**d, "valid_to": at}) for d in current], ordered=False)
    return len(current)


def record_versions(
    history: Collection[dict[str, Any]], versions: list[tuple[Any, str, dict[str, Any]]], at: dt.datetime
) -> None:
    """Close the keys' current versions and open the new ones, all at `at`."""
    if not versions:
        return
    close(history, (key for key, _, _ in versions), at)
    opened = [
        {"_id": version_id(key, digest, at), "key": key, "content_hash": digest, "valid_from": at, "valid_to": None}
        | {"record": document}
        for key, digest, document in versions
    ]
    # Whole replacements by id: a retried write lands once.
    history.bulk_write([ReplaceOne({"_id": v["_id"]}, v, upsert=True) for v in opened], ordered=False)
