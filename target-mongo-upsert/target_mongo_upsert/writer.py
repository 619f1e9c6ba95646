"""Writing one batch: a single unordered bulk of keyed upserts, retried on transient errors."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff
from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConnectionFailure

log = logging.getLogger(__name__)
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

    def upsert(self, collection: str, documents: dict[Any, dict[str, Any]]) -> WriteCounts:
        """Upsert `documents` (by `_id`) in one unordered bulk_write."""
        now = dt.datetime.now(dt.UTC)
        operations = [
            UpdateOne({"_id": key}, {"$set": doc, "$setOnInsert": {"first_seen_at": now}}, upsert=True)
            for key, doc in documents.items()
        ]

        def write() -> WriteCounts:
            try:
                result = self.database[collection].bulk_write(operations, ordered=False)
            except BulkWriteError as err:
                details = err.details
                first = (details.get("writeErrors") or [{}])[0]
                msg = (
                    f"bulk write to {collection} failed: {details.get('nUpserted', 0)} upserted, "
                    f"{details.get('nMatched', 0)} matched, {details.get('nModified', 0)} modified, "
                    f"{len(details.get('writeErrors') or [])} errors; first: code {first.get('code')} "
                    f"{first.get('errmsg', '')[:300]}"
                )
                raise BatchWriteError(msg) from None
            return WriteCounts(result.upserted_count, result.matched_count, result.modified_count)

        return self.retrying(write, f"upsert of {len(operations)} documents into {collection}")
