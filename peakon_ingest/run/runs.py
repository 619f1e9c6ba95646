"""`ingestion_runs`: one document per run, created before it starts and finalised when it ends."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from pymongo.database import Database
from target_mongo_upsert.contract import RUNS_COLLECTION

RUNS = RUNS_COLLECTION  # the target counts into the same documents
INGEST_MODES = ("full", "incremental")  # runs that ingest (`marts` rebuilds are runs too)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: Any) -> dt.datetime | None:
    """A stored date as aware UTC (drivers return naive UTC unless told otherwise)."""
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def start_run(db: Database[dict[str, Any]], run_id: str, *, mode: str, streams: list[str] | None) -> None:
    db[RUNS].insert_one(
        {
            "_id": run_id,
            "started_at": now(),
            "status": "running",
            "mode": mode,
            "streams": streams,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "counts": {},
        }
    )


def finish_run(db: Database[dict[str, Any]], run_id: str, **fields: Any) -> dict[str, Any]:
    """Write the outcome. The whole document is replaced (with its `_id`): the target, which `$inc`s
    counts into it, has exited by now, and a replacement keeps dates typed on every server."""
    document = db[RUNS].find_one({"_id": run_id}) or {"_id": run_id, "counts": {}}
    document.update(fields, finished_at=now())
    started = aware(document.get("started_at"))
    if started is not None:
        document["duration_seconds"] = round((document["finished_at"] - started).total_seconds(), 3)
    db[RUNS].replace_one({"_id": run_id}, document, upsert=True)
    return document


def abandon_stale_runs(db: Database[dict[str, Any]], current_run: str) -> list[str]:
    """Runs still marked running while we hold the lock died without finishing (kill -9, power loss)."""
    stale = [d["_id"] for d in db[RUNS].find({"status": "running", "_id": {"$ne": current_run}}, {"_id": 1})]
    for run_id in stale:
        finish_run(db, run_id, status="abandoned", error="the run stopped without finishing (detected by a later run)")
    return stale


def recent_runs(db: Database[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    return list(db[RUNS].find().sort("started_at", -1).limit(limit))
