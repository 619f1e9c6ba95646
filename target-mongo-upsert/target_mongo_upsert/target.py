"""target-mongo-upsert: config schema, the MongoDB connection, and state stored only after commit."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, InvalidInputLine
from singer_sdk.helpers.capabilities import (
    TARGET_BATCH_SIZE_ROWS_CONFIG,
    TARGET_VALIDATE_RECORDS_CONFIG,
    CapabilitiesEnum,
    PluginCapabilities,
    TargetCapabilities,
)
from typing_extensions import override

from target_mongo_upsert import contract
from target_mongo_upsert.collector import set_for_bulk_records
from target_mongo_upsert.commits import CommitQueue
from target_mongo_upsert.connection import MongoUnavailableError, connect
from target_mongo_upsert.keys import RecordKeyError
from target_mongo_upsert.reader import NumberedMsgSpecReader
from target_mongo_upsert.run_records import RUNS_COLLECTION, ensure_run
from target_mongo_upsert.sinks import MongoSink
from target_mongo_upsert.state_store import STATE_COLLECTION, save_state
from target_mongo_upsert.versions import TableVersions, version_of
from target_mongo_upsert.writer import BatchWriteError, MongoWriter

# Failures whose message is the whole story: printed as one line, without a traceback.
CLEAR_ERRORS = (MongoUnavailableError, BatchWriteError, RecordKeyError, InvalidInputLine, ConfigValidationError)


class TargetMongoUpsert(Target):
    """Singer target that upserts records into MongoDB by key."""

    name = "target-mongo-upsert"
    default_sink_class = MongoSink
    message_reader_class = NumberedMsgSpecReader
    # Only what it honours: no load_method, record metadata, stream maps or flattening.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.ACTIVATE_VERSION,  # a table version made whole: older versions are marked removed
        PluginCapabilities.BATCH,  # BATCH messages: local JSONL files, other encodings the SDK's way
        PluginCapabilities.STRUCTURED_LOGGING,
        TargetCapabilities.VALIDATE_RECORDS,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "mongo_uri",
            th.StringType,
            required=True,
            secret=True,
            title="MongoDB URI",
            description="mongodb:// or mongodb+srv:// URI; its password is never logged.",
        ),
        th.Property(
            "database", th.StringType, required=True, title="Database", description="The database to write to."
        ),
        th.Property(
            "max_batch_age_seconds",
            th.NumberType(exclusive_minimum=0),
            default=300,
            title="Longest a record waits in a batch",
            description="Seconds after which a batch is written even when it is not full.",
        ),
        th.Property("run_id", th.StringType, title="Run id", description="Counts go to ingestion_runs under it."),
        th.Property(
            "server_selection_timeout_ms",
            th.IntegerType(minimum=1),
            default=10000,
            title="Server selection timeout (ms)",
            description="How long to wait for MongoDB before failing.",
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
            description="More hides more network latency; each holds up to batch_size_rows documents in memory.",
        ),
        th.Property(
            "indexes",
            th.CustomType(
                {"type": ["object", "null"], "additionalProperties": {"type": "array", "items": {"type": "string"}}}
            ),
            title="Secondary indexes",
            description="Collection name (or * for every collection) to the fields to index ascending, e.g. "
            '{"orders": ["customer.id"], "*": ["run_id"]}. Built after a first load.',
        ),
        th.Property(
            "readable_bookmarks",
            th.ArrayType(
                th.ObjectType(
                    th.Property("stream", th.StringType, required=True),
                    th.Property("key", th.StringType, required=True),
                    th.Property("field", th.StringType, required=True),
                )
            ),
            title="Readable bookmark documents",
            description="For each entry, sync_state gets {_id: stream, <field>: bookmarks[stream][key]} "
            "beside the Singer state, e.g. stream orders, key replication_key_value, field last_order_id.",
        ),
        th.Property(
            "envelope_fields",
            th.ArrayType(th.StringType),
            title="Envelope fields",
            description="Fields that differ between any two reads of the same content (e.g. fetched_at, "
            "run_id): left out of content_hash, so they alone never make a record changed.",
        ),
        th.Property(
            "refreshed_fields",
            th.ArrayType(th.StringType),
            title="Fields refreshed on unchanged records",
            description="Written with last_seen_at when a record's content is unchanged (e.g. run_id); "
            "nothing else of an unchanged record is rewritten.",
        ),
        th.Property(
            "history",
            th.ArrayType(th.StringType),
            title="Streams with a history",
            description="For these streams, <collection>_history keeps one document per version "
            "(key and content_hash) with valid_from and valid_to.",
        ),
        th.Property(
            "dates_as_bson",
            th.BooleanType,
            default=True,
            title="Store date-time fields as dates",
            description="Values of the schema's date-time fields (at any depth) stored as BSON dates, in UTC "
            "to the millisecond; a value that does not parse is stored as sent. Off: every value as sent.",
        ),
        th.Property(
            "activate_announced_at_end",
            th.BooleanType,
            default=True,
            title="Apply announced table versions at the end of input",
            description="A table version an ACTIVATE_VERSION announced (before its records) and no later "
            "ACTIVATE_VERSION of it closed is applied once the input ends without error: the stream's "
            "documents of older versions are marked removed, as SDK taps (one ACTIVATE_VERSION per full read, "
            "before its records) need. Off: only a closing ACTIVATE_VERSION retires documents, for taps that "
            "send one only after a complete read.",
        ),
        th.Property(
            "summary_path",
            th.StringType,
            title="Run summary file",
            description="Where the target writes {error} as JSON when it ends (error null on success).",
        ),
        th.Property(
            "write_retries",
            th.IntegerType(minimum=0),
            default=5,
            title="Retries of a batch on connection errors",
            description="A batch is retried with exponential backoff when the connection to MongoDB fails.",
        ),
    ).to_dict()

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        """The SDK's standard settings this target honours, and no others: the SDK would also add
        load_method, add_record_metadata, stream maps and flattening, which it does not implement."""
        for builtin in (TARGET_BATCH_SIZE_ROWS_CONFIG, TARGET_VALIDATE_RECORDS_CONFIG):
            for key, value in builtin["properties"].items():
                config_jsonschema["properties"].setdefault(key, value)

    # The instance the console entry point runs, so `main` can record an error it catches.
    running: ClassVar[TargetMongoUpsert | None] = None

    def __init__(self, **kwargs: Any) -> None:
        try:
            self._setup(**kwargs)
        except Exception as err:
            self.write_summary(err)
            raise
        TargetMongoUpsert.running = self

    def write_summary(self, error: BaseException | None) -> None:
        """The run's outcome as JSON at `summary_path` (when configured): `error` and `error_type`,
        null on success."""
        path = getattr(self, "_config", {}).get("summary_path")
        if path:
            contract.write_summary(path, error)

    def _setup(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The SDK's age check is in minutes; its class constant is the only setting of it (guarded by
        # target_mongo_upsert_tests/test_sdk_contract.py).
        self._MAX_RECORD_AGE_IN_MINUTES = float(self.config.get("max_batch_age_seconds", 300)) / 60
        self.commits = CommitQueue(writers=int(self.config.get("parallel_writes", 2)))
        self.versions = TableVersions()
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
        database = self.client[str(self.config["database"])]
        return MongoWriter(database, retries=int(self.config.get("write_retries", 5)))

    # The SDK's STATE handling is private, with no public hook between "state received" and "state
    # written": these two overrides are how a state waits for its data (target_mongo_upsert_tests/test_sdk_contract.py).
    @override
    def _process_state_message(self, message_dict: dict[str, Any]) -> None:
        """Every STATE flushes all pending batches first; only then is the state saved and emitted."""
        if message_dict.get("value") == self._latest_state:
            return
        super()._process_state_message(message_dict)
        self.drain_all()  # queues the state (see below) behind every batch before it

    # Private in the SDK, with no public hook that sees a RECORD's `version` short of adding every
    # `_sdc_*` metadata field to every record (target_mongo_upsert_tests/test_sdk_contract.py guards it).
    @override
    def _process_record_message(self, message_dict: dict[str, Any]) -> None:
        """The record's table version goes to its sink beside the record (it is no content)."""
        self.versions.record(message_dict.get("stream", ""), version_of(message_dict))
        super()._process_record_message(message_dict)

    # Private in the SDK, whose handler needs `_sdc_*` metadata columns this target does not use
    # (target_mongo_upsert_tests/test_sdk_contract.py guards the hook). The semantics: versions.py.
    @override
    def _process_activate_version_message(self, message_dict: dict[str, Any]) -> None:
        stream, version = message_dict.get("stream"), version_of(message_dict)
        if not isinstance(stream, str) or not self.sink_exists(stream):
            self.logger.warning("ACTIVATE_VERSION for stream %r, which sent no SCHEMA: ignored", stream)
            return
        if version is None:
            self.logger.warning("ACTIVATE_VERSION for stream %r without an integer version: ignored", stream)
            return
        if not self.versions.activate(stream, version):
            self.logger.info("%s: table version %d announced", stream, version)
            return
        sink = self.get_sink(stream)
        self.drain_one(sink)  # the stream's last records are queued before the removals
        if isinstance(sink, MongoSink):
            sink.retire_older_versions(version)

    @override
    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        self.commits.wait()  # every batch written: a failed write raises here, before anything is applied
        if self.config.get("activate_announced_at_end", True):
            self.activate_open_versions()
            self.commits.wait()
        self.client.close()
        self.write_summary(None)

    def activate_open_versions(self) -> None:
        """The clean end of input closes what an ACTIVATE_VERSION announced and none closed (see
        versions.py): applied as that closing ACTIVATE_VERSION would be, after every batch is written."""
        for stream, version in self.versions.open.items():
            sink = self.get_sink(stream)
            if isinstance(sink, MongoSink):
                self.logger.info("%s: table version %d applied at the end of input", stream, version)
                sink.retire_older_versions(version)

    @override
    def _write_state_message(self, state: dict[str, Any]) -> None:
        """Called by drain_all once every batch is queued: persisted and emitted (like any Singer
        target) in the background, once those batches are written."""
        collection = self.writer.database[STATE_COLLECTION]
        readable = self.config.get("readable_bookmarks") or []
        emit = super()._write_state_message

        def job() -> None:
            self.writer.retrying(lambda: save_state(collection, state, readable), "state")
            emit(state)

        self.commits.after_writes(job)


def main() -> None:
    """Console entry point: clear failures are one line on stderr and exit code 1."""
    set_for_bulk_records()
    try:
        TargetMongoUpsert.cli()
    except Exception as err:
        if TargetMongoUpsert.running is not None:
            TargetMongoUpsert.running.write_summary(err)
        if not isinstance(err, CLEAR_ERRORS):
            raise
        print(f"target-mongo-upsert: error: {err}", file=sys.stderr)  # noqa: T201
        sys.exit(1)


if __name__ == "__main__":
    main()
