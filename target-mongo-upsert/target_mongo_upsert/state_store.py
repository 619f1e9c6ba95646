"""Persisting Singer state to `sync_state`, and readable per-stream bookmark documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypedDict

from pymongo.collection import Collection

STATE_COLLECTION = "sync_state"
STATE_ID = "singer_state"


class ReadableBookmark(TypedDict):
    """One entry of the `readable_bookmarks` setting: `{_id: stream, field: bookmarks[stream][key]}`."""

    stream: str
    key: str
    field: str


def bookmark_documents(
    state: dict[str, Any], readable: Sequence[ReadableBookmark], now: dt.datetime
) -> list[dict[str, Any]]:
    """A document per configured readable bookmark whose value the state holds."""
    bookmarks = state.get("bookmarks") or {}
    documents = []
    for entry in readable:
        value = (bookmarks.get(entry["stream"]) or {}).get(entry["key"])
        if value is not None:
            documents.append({"_id": entry["stream"], entry["field"]: value, "updated_at": now})
    return documents


def save_state(
    collection: Collection[dict[str, Any]], state: dict[str, Any], readable: Sequence[ReadableBookmark] = ()
) -> None:
    now = dt.datetime.now(dt.UTC)
    # Whole documents with their `_id`: a replacement never creates a second document.
    collection.replace_one({"_id": STATE_ID}, {"_id": STATE_ID, "value": state, "updated_at": now}, upsert=True)
    for document in bookmark_documents(state, readable, now):
        collection.replace_one({"_id": document["_id"]}, document, upsert=True)


def load_state(collection: Collection[dict[str, Any]]) -> dict[str, Any] | None:
    document = collection.find_one({"_id": STATE_ID})
    return None if document is None else dict(document["value"])
