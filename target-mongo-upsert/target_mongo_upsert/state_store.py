"""Persisting Singer state to `sync_state`, and readable per-stream bookmark documents."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.collection import Collection

STATE_COLLECTION = "sync_state"
STATE_ID = "singer_state"


def bookmark_documents(state: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    """`{_id: "answers_export", last_answer_id}` and `{_id: "employees", last_employee_id}` from the state."""
    bookmarks = state.get("bookmarks") or {}
    documents = []
    answers = bookmarks.get("answers_export") or {}
    if answers.get("replication_key_value") is not None:
        documents.append(
            {"_id": "answers_export", "last_answer_id": answers["replication_key_value"], "updated_at": now}
        )
    employees = bookmarks.get("employees") or {}
    if employees.get("last_employee_id") is not None:
        documents.append({"_id": "employees", "last_employee_id": employees["last_employee_id"], "updated_at": now})
    return documents


def save_state(collection: Collection[dict[str, Any]], state: dict[str, Any]) -> None:
    now = dt.datetime.now(dt.UTC)
    # Whole documents with their `_id`: a replacement never creates a second document.
    collection.replace_one({"_id": STATE_ID}, {"_id": STATE_ID, "value": state, "updated_at": now}, upsert=True)
    for document in bookmark_documents(state, now):
        collection.replace_one({"_id": document["_id"]}, document, upsert=True)


def load_state(collection: Collection[dict[str, Any]]) -> dict[str, Any] | None:
    document = collection.find_one({"_id": STATE_ID})
    return None if document is None else dict(document["value"])
