"""The MongoDB sink: batches records by key and writes each batch in one bulk upsert."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from singer_sdk.helpers._batch import BaseBatchFileEncoding
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_mongo_upsert.batch_files import local_batch_file, read_jsonl
from target_mongo_upsert.indexes import ensure_indexes
from target_mongo_upsert.keys import KeyRule
from target_mongo_upsert.run_records import RUNS_COLLECTION, add_counts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_mongo_upsert.target import TargetMongoUpsert


def collection_name(stream: str) -> str:
    """The stream's name, with anything but letters, digits and `_` made `_`: every server accepts it."""
    return re.sub(r"[^A-Za-z0-9_]", "_", stream)


class MongoSink(BatchSink):
    """One collection per stream, named after it; `_id` is the record's key."""

    def __init__(
        self, target: TargetMongoUpsert, stream_name: str, schema: dict[str, Any], key_properties: Sequence[str] | None
    ) -> None:
        super().__init__(target=target, stream_name=stream_name, schema=schema, key_properties=key_properties)
        self.writer = target.writer
        self.run_id = target.run_id
        self.key_rule = KeyRule(stream_name, list(key_properties or []))
        self._indexes_pending = False
        self.fresh = False  # the collection was empty when this run began

    @property
    @override
    def max_size(self) -> int:
        return int(self.config.get("batch_size", 5000))

    @property
    def collection_name(self) -> str:
        return collection_name(self.stream_name)

    @override
    def setup(self) -> None:
        """Indexes now, or, for a collection still empty (a first sync), once its data is in: one
        index build after a bulk load costs far less than maintaining every index on each insert."""
        collection = self.writer.database[self.collection_name]
        self.fresh = self.writer.retrying(collection.estimated_document_count, "count") == 0
        self._indexes_pending = self.fresh
        if not self._indexes_pending:
            self._build_indexes()

    @override
    def clean_up(self) -> None:
        if self._indexes_pending:
            self._build_indexes()
        super().clean_up()

    def _build_indexes(self) -> None:
        collection = self.writer.database[self.collection_name]
        self.writer.retrying(lambda: ensure_indexes(collection), f"indexes of {self.collection_name}")
        self._indexes_pending = False

    @override
    def _parse_timestamps_in_record(self, record: dict[str, Any], schema: dict[str, Any], treatment: Any) -> None:
        """Values are stored exactly as the source sent them: no string-to-date conversion."""

    @override
    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        record["_id"] = self.key_rule.key(record, position=self._total_records_read + 1)
        return record

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        self.add(context.setdefault("documents", {}), record)

    def add(self, batch: dict[Any, dict[str, Any]], record: dict[str, Any]) -> None:
        key = record.pop("_id")
        if key in batch:
            self.tally_duplicate_merged()  # the last version of a key in a batch wins
        batch[key] = record

    def documents(self, records: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
        batch: dict[Any, dict[str, Any]] = {}
        for record in records:
            self.tally_record_read()
            record["_id"] = self.key_rule.key(record, position=self._total_records_read)
            self.add(batch, record)
        return batch

    @override
    def process_batch_files(self, encoding: BaseBatchFileEncoding, files: Sequence[str]) -> None:
        """Load local JSONL batch files whole (msgspec), commit each, then delete it; anything else
        (remote storage, parquet) goes the SDK's way."""
        for url in files:
            path = local_batch_file(encoding, url)
            if path is None:
                super().process_batch_files(encoding, [url])
                continue
            self.process_batch({"records": read_jsonl(path, gzipped=encoding.compression == "gzip")})
            path.unlink(missing_ok=True)  # committed: the file has served, and it holds personal data

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        if "records" in context:  # a BATCH file: records arrive whole, without per-record processing
            context["documents"] = self.documents(context.pop("records"))
        documents: dict[Any, dict[str, Any]] = context.get("documents", {})
        if not documents:
            return
        counts = self.writer.upsert(self.collection_name, documents, fresh=self.fresh)
        self.tally_record_written(len(documents))
        if self.run_id:
            runs = self.writer.database[RUNS_COLLECTION]
            self.writer.retrying(
                lambda: add_counts(runs, str(self.run_id), self.collection_name, counts, len(documents)), "run counts"
            )
        self.logger.info(
            "%s: %d documents (%d inserted, %d updated, %d unchanged)",
            self.collection_name, len(documents), counts.upserted, counts.modified, counts.matched - counts.modified,
        )  # fmt: skip
