"""Writing one batch: a single unordered bulk of keyed upserts, retried on transient errors."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff
from pymongo import InsertOne, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConnectionFailure

log = logging.getLogger(__name__)
DUPLICATE_KEY = 11000
T = TypeVar("T")


class BatchWriteError(RuntimeError):
    """A batch could not be written; the message says how far it got."""


@dataclass
class WriteCounts:
    upserted: int = 0
    matched: int = 0
    modified: int = 0

    def add(self, other: WriteCounts) -> None:
        self.upserted += other.upserted
        self.matched += other.matched
        self.modified += other.modified


class MongoWriter:
    def __init__(self, database: Database[dict[str, Any]], *, retries: int, max_wait_seconds: float = 30.0) -> None:
        self.database = database
        self.retries = retries
        self.max_wait_seconds = max_wait_seconds

    def retrying(self, operation: Callable[[], T], what: str) -> T:
        """Run `operation`, retrying connection failures with exponential backoff: every write here
        is idempotent (keyed upserts, `$inc` of a committed batch happens once after it), so a retry
        never duplicates data."""

        def giving_up(details: Any) -> None:
            log.error("%s: giving up after %d tries", what, details["tries"])

        def backing_off(details: Any) -> None:
            log.warning("%s: MongoDB connection failed (%s); retry %d in %.1fs", what,
                        type(details["exception"]).__name__, details["tries"], details["wait"])  # fmt: skip

        wrapped = backoff.on_exception(
            backoff.expo,
            ConnectionFailure,
            max_tries=self.retries + 1,
            max_value=self.max_wait_seconds,
            on_backoff=backing_off,
            on_giveup=giving_up,
            logger=None,
        )(operation)
        return wrapped()

    def upsert(self, collection: str, documents: dict[Any, dict[str, Any]], *, fresh: bool = False) -> WriteCounts:
        """Write `documents` (by `_id`) in one unordered bulk_write: keys already stored are updated
        (`$set`), new keys inserted whole. An insert is much cheaper for a server than an upsert,
        and a first sync is nearly all new keys; one indexed `_id` lookup per batch decides. For a
        collection that was empty when the run began (`fresh`) the lookup is skipped: a key stored
        after all comes back as a duplicate-key error and is updated in a second round."""
        target = self.database[collection]

        def write() -> WriteCounts:
            if fresh:
                return _write(target, list(documents.items()), set())
            stored = {d["_id"] for d in target.find({"_id": {"$in": list(documents)}}, {"_id": 1})}
            return _write(target, list(documents.items()), stored)

        return self.retrying(write, f"upsert of {len(documents)} documents into {collection}")


def _write(
    target: Collection[dict[str, Any]], pending: list[tuple[Any, dict[str, Any]]], stored: set[Any]
) -> WriteCounts:
    """Insert the new keys and update the stored ones; a key that another writer inserted meanwhile
    (duplicate key on an insert) is updated in a second round."""
    now = dt.datetime.now(dt.UTC)
    counts = WriteCounts()
    while pending:
        operations: list[InsertOne[dict[str, Any]] | UpdateOne] = [
            UpdateOne({"_id": key}, {"$set": doc, "$setOnInsert": {"first_seen_at": now}}, upsert=True)
            if key in stored
            else InsertOne({"_id": key, **doc, "first_seen_at": now})
            for key, doc in pending
        ]
        try:
            result = target.bulk_write(operations, ordered=False)
        except BulkWriteError as err:
            details = err.details
            counts.add(WriteCounts(details.get("nInserted", 0) + details.get("nUpserted", 0),
                                   details.get("nMatched", 0), details.get("nModified", 0)))  # fmt: skip
            errors = details.get("writeErrors") or []
            raced = [
                e["index"] for e in errors if e.get("code") == DUPLICATE_KEY and pending[e["index"]][0] not in stored
            ]
            if len(raced) != len(errors):
                first = next(e for e in errors if e["index"] not in raced)
                msg = (
                    f"bulk write to {target.name} failed: {counts.upserted} inserted, {counts.matched} matched, "
                    f"{counts.modified} modified, {len(errors) - len(raced)} errors; "
                    f"first: code {first.get('code')} {first.get('errmsg', '')[:300]}"
                )
                raise BatchWriteError(msg) from None
            pending = [pending[i] for i in raced]
            stored.update(key for key, _ in pending)
            continue
        counts.add(
            WriteCounts(result.inserted_count + result.upserted_count, result.matched_count, result.modified_count)
        )
        break
    return counts
