"""target-mongo-upsert: config schema, the MongoDB connection, and state stored only after commit."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, InvalidInputLine
from typing_extensions import override

from target_mongo_upsert.commits import CommitQueue
from target_mongo_upsert.connection import MongoUnavailableError, connect
from target_mongo_upsert.keys import RecordKeyError
from target_mongo_upsert.reader import NumberedMsgSpecReader
from target_mongo_upsert.run_records import RUNS_COLLECTION, ensure_run
from target_mongo_upsert.sinks import MongoSink
from target_mongo_upsert.state_store import STATE_COLLECTION, save_state
from target_mongo_upsert.writer import BatchWriteError, MongoWriter

# Failures whose message is the whole story: printed as one line, without a traceback.
CLEAR_ERRORS = (MongoUnavailableError, BatchWriteError, RecordKeyError, InvalidInputLine, ConfigValidationError)


class TargetMongoUpsert(Target):
    """Singer target that upserts records into MongoDB by key."""

    name = "target-mongo-upsert"
    default_sink_class = MongoSink
    message_reader_class = NumberedMsgSpecReader

    config_jsonschema = th.PropertiesList(
        th.Property(
            "mongo_uri",
            th.StringType,
            required=True,
            secret=True,
            title="MongoDB URI",
            description="mongodb:// or mongodb+srv:// URI; its password is never logged.",
        ),
        th.Property("database", th.StringType, default="peakon", title="Database"),
        th.Property("batch_size", th.IntegerType(minimum=1), default=5000, title="Documents per bulk write"),
        th.Property(
            "max_batch_age_seconds",
            th.NumberType(exclusive_minimum=0),
            default=300,
            title="Longest a record waits in a batch",
        ),
        th.Property("run_id", th.StringType, title="Run id", description="Counts go to ingestion_runs under it."),
        th.Property(
            "server_selection_timeout_ms",
            th.IntegerType(minimum=1),
            default=10000,
            title="Server selection timeout (ms)",
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            title="Validate records against their schema",
            description="Off by default: records are stored as received whatever their types, and "
            "JSON Schema validation costs more CPU than everything else in the target.",
        ),
        th.Property(
            "parallel_writes",
            th.IntegerType(minimum=1),
            default=2,
            title="Bulk writes in flight at once",
            description="More hides more network latency; each holds up to batch_size documents in memory.",
        ),
        th.Property(
            "write_retries",
            th.IntegerType(minimum=0),
            default=5,
            title="Retries of a batch on connection errors",
        ),
    ).to_dict()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The SDK's age check is in minutes.
        self._MAX_RECORD_AGE_IN_MINUTES = float(self.config.get("max_batch_age_seconds", 300)) / 60
        self.commits = CommitQueue(writers=int(self.config.get("parallel_writes", 2)))
        # Draining a sink only queues its batch (the commit queue writes in parallel): the SDK's
        # joblib thread pool on every STATE would be pure overhead.
        self.max_parallelism = 1
        self.client = connect(str(self.config["mongo_uri"]), int(self.config.get("server_selection_timeout_ms", 10000)))
        if self.run_id:
            runs = self.writer.database[RUNS_COLLECTION]
            self.writer.retrying(lambda: ensure_run(runs, str(self.run_id)), "run record")

    @property
    def run_id(self) -> str | None:
        return self.config.get("run_id")

    @cached_property
    def writer(self) -> MongoWriter:
        database = self.client[str(self.config.get("database", "peakon"))]
        return MongoWriter(database, retries=int(self.config.get("write_retries", 5)))

    @override
    def _process_state_message(self, message_dict: dict[str, Any]) -> None:
        """Every STATE flushes all pending batches first; only then is the state saved and emitted."""
        if message_dict.get("value") == self._latest_state:
            return
        super()._process_state_message(message_dict)
        self.drain_all()  # queues the state (see below) behind every batch before it

    @override
    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        self.commits.wait()
        self.client.close()

    @override
    def _write_state_message(self, state: dict[str, Any]) -> None:
        """Called by drain_all once every batch is queued: persisted and emitted (like any Singer
        target) in the background, once those batches are written."""
        collection = self.writer.database[STATE_COLLECTION]
        emit = super()._write_state_message

        def job() -> None:
            self.writer.retrying(lambda: save_state(collection, state), "state")
            emit(state)

        self.commits.after_writes(job)


def main() -> None:
    """Console entry point: clear failures are one line on stderr and exit code 1."""
    try:
        TargetMongoUpsert.cli()
    except CLEAR_ERRORS as err:
        print(f"target-mongo-upsert: error: {err}", file=sys.stderr)  # noqa: T201
        sys.exit(1)


if __name__ == "__main__":
    main()
