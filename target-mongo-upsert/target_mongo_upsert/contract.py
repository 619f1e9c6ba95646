"""What a runner of target-mongo-upsert may rely on, in one module (the operator imports this and
nothing else).

- The run summary (`summary_path`): `TargetSummary`, described for other languages by
  `run_summary.schema.json` beside this module (a test keeps both equal).
- The state: the Singer state document in `STATE_COLLECTION` under `STATE_ID` (`load_state` reads
  it), and the readable bookmark documents configured by `readable_bookmarks` (`ReadableBookmark`).
- The run documents: per-collection counts `$inc`-ed into `RUNS_COLLECTION` under the run id.
- The connection: `connect` with its `MongoUnavailableError`, as the target itself connects.
- The settings' JSON schema, as `--about` prints it (`config_schema`; it imports the SDK).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import msgspec

from target_mongo_upsert.connection import MongoUnavailableError, connect
from target_mongo_upsert.run_records import RUNS_COLLECTION
from target_mongo_upsert.state_store import STATE_COLLECTION, STATE_ID, ReadableBookmark, load_state

__all__ = [
    "RUNS_COLLECTION",
    "STATE_COLLECTION",
    "STATE_ID",
    "SUMMARY_SCHEMA_FILE",
    "MongoUnavailableError",
    "ReadableBookmark",
    "TargetSummary",
    "config_schema",
    "connect",
    "load_state",
    "write_summary",
]

SUMMARY_SCHEMA_FILE = "run_summary.schema.json"


class TargetSummary(TypedDict):
    """The summary file, written when the target ends (every key always present)."""

    error: str | None  # null on success
    error_type: str | None


def write_summary(path: str | Path, error: BaseException | None) -> None:
    summary: TargetSummary = {
        "error": None if error is None else str(error) or type(error).__name__,
        "error_type": None if error is None else type(error).__name__,
    }
    Path(path).write_bytes(msgspec.json.encode(summary))


def config_schema() -> dict[str, Any]:
    """The target's settings as a JSON schema (what `target-mongo-upsert --about` lists)."""
    from target_mongo_upsert.target import TargetMongoUpsert  # noqa: PLC0415  # the SDK's import cost, only when asked

    return TargetMongoUpsert.config_jsonschema
