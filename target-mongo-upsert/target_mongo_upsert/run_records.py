"""Counting what each committed batch wrote into the run's `ingestion_runs` document."""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from target_mongo_upsert.writer import WriteCounts

RUNS_COLLECTION = "ingestion_runs"


def ensure_run(collection: Collection[dict[str, Any]], run_id: str) -> None:
    """Make sure the run's document exists, so counts can be `$inc`-ed into it without an upsert."""
    with contextlib.suppress(DuplicateKeyError):  # the operator CLI created it, with start time and status
        collection.insert_one({"_id": run_id, "counts": {}})


def add_counts(
    collection: Collection[dict[str, Any]], run_id: str, stream: str, counts: WriteCounts, records: int, rejected: int
) -> None:
    """What one committed batch did, added to the run's per-collection counts."""
    increments = {"records": records, "inserted": counts.inserted, "changed": counts.changed,
                  "unchanged": counts.unchanged, "rejected": rejected}  # fmt: skip
    collection.update_one({"_id": run_id}, {"$inc": {f"counts.{stream}.{k}": v for k, v in increments.items()}})


def add_removed(collection: Collection[dict[str, Any]], run_id: str, stream: str, removed: int) -> None:
    collection.update_one({"_id": run_id}, {"$inc": {f"counts.{stream}.removed": removed}})
