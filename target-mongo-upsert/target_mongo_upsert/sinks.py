"""The MongoDB sink: batches records by key and writes each batch in one bulk upsert."""

from __future__ import annotations

import functools
import re
import threading
from typing import TYPE_CHECKING, Any

from pymongo import UpdateOne
from singer_sdk.helpers._batch import BaseBatchFileEncoding
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_mongo_upsert.batch_files import decode_lines, local_batch_file, read_lines
from target_mongo_upsert.changes import content_hash, content_json
from target_mongo_upsert.commits import EVERY_KEY
from target_mongo_upsert.dates import plan, to_dates
from target_mongo_upsert.history import SUFFIX, close, record_versions
from target_mongo_upsert.indexes import ensure_indexes, fields_for
from target_mongo_upsert.keys import KeyRule
from target_mongo_upsert.rejections import NOT_JSON, REJECTED_COLLECTION, decode_within_depth, reason, rejection
from target_mongo_upsert.run_records import RUNS_COLLECTION, add_counts, add_removed
from target_mongo_upsert.versions import OldestWritten
from target_mongo_upsert.writer import VERSION_FIELD, Batch, WriteCounts

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
        self.commits = target.commits
        self.run_id = target.run_id
        self.key_rule = KeyRule(stream_name, list(key_properties or []))
        self.versions = target.versions
        # Where the schema's date-time fields are, when they are to be stored as dates.
        self.dates = plan(schema) if self.config.get("dates_as_bson", True) else None
        self._indexes_pending = False
        self.fresh = False  # the collection was empty when this run began
        self.position = 0  # records of this stream read so far, for errors that name one
        self.rejected: list[UpdateOne] = []  # records kept aside until the next write
        self.files_within_depth = True  # until a batch file holds a record that may nest too deep
        # Envelope fields: left out of the content hash; `touch`: still written when content is unchanged.
        self.envelope = frozenset(self.config.get("envelope_fields") or ())
        self.touch = tuple(self.config.get("refreshed_fields") or ())
        tracked = stream_name in (self.config.get("history") or ())
        self.history = target.writer.database[collection_name(stream_name) + SUFFIX] if tracked else None
        # What this run wrote, to know when an activation retires nothing without reading the collection.
        self.oldest_written = OldestWritten()  # queued in the main thread
        self.inserted = 0  # documents this run inserted, added up by the writer threads
        self._inserted_lock = threading.Lock()

    MAX_SIZE_DEFAULT = 5000  # documents per bulk write unless `batch_size_rows` says otherwise

    @property
    def collection_name(self) -> str:
        return collection_name(self.stream_name)

    @override
    def setup(self) -> None:
        """Indexes now, or, for a collection still empty (a first sync), once its data is in: one
        index build after a bulk load costs far less than maintaining every index on each insert."""
        collection = self.writer.database[self.collection_name]
        # Appended records are new keys, never looked up: as in a collection that was empty.
        self.fresh = self.key_rule.appends or self.writer.retrying(collection.estimated_document_count, "count") == 0
        self._indexes_pending = self.fresh
        if not self._indexes_pending:
            self._build_indexes()

    @override
    def clean_up(self) -> None:
        self.commits.wait()  # the data is in before its indexes are built
        if self._indexes_pending:
            self._build_indexes()
        super().clean_up()

    def _build_indexes(self) -> None:
        collection = self.writer.database[self.collection_name]
        fields = fields_for(self.config.get("indexes") or {}, self.collection_name)
        self.writer.retrying(lambda: ensure_indexes(collection, fields), f"indexes of {self.collection_name}")
        self._indexes_pending = False

    # Private in the SDK and called for every record with no switch to turn it off: the only way to
    # store values as received (target_mongo_upsert_tests/test_sdk_contract.py guards it).
    @override
    def _parse_timestamps_in_record(self, record: dict[str, Any], schema: dict[str, Any], treatment: Any) -> None:
        """No conversion by the SDK (top-level fields only, a `date` made a type BSON cannot hold, an
        unparseable value an error): dates are made in `add`, per `dates_as_bson`, for batch files too."""

    @override
    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        self.position += 1
        record["_id"] = self.key_rule.key(record, position=self.position)
        return record

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        self.add(context.setdefault("batch", Batch()), record.pop("_id"), record, self.versions.current)

    def add(
        self, batch: Batch, key: Any, record: dict[str, Any], version: int | None, *, within_depth: bool = False
    ) -> None:
        content = content_json(record, self.envelope)  # once: for the content hash and the depth rule
        why = reason(key, record, content, self.envelope, within_depth=within_depth)
        if why is None and content is not None:
            if self.dates is not None:  # after the hash: the content is what was sent
                to_dates(record, self.dates)
            if batch.add(key, record, content_hash(content), version):
                self.tally_duplicate_merged()  # the last version of a key in a batch wins
            return
        why = why or NOT_JSON  # kept aside with the next write; the batch goes on without it
        self.logger.warning("%s: record %d rejected: %s", self.stream_name, self.position, why)
        self.rejected.append(rejection(self.stream_name, why, key, record, self.run_id))

    def documents(self, records: list[dict[str, Any]], *, within_depth: bool) -> Batch:
        """A batch file's records, of the version the stream's last ACTIVATE_VERSION announced (a BATCH
        message carries none; the SDK announces the version before a full read's batches), or none."""
        batch = Batch()
        self.tally_record_read(len(records))
        version = self.versions.announced.get(self.stream_name)
        for position, record in enumerate(records, start=self.position + 1):
            key = self.key_rule.key(record, position)
            record.pop("_id", None)
            self.add(batch, key, record, version, within_depth=within_depth)
        self.position += len(records)
        return batch

    @override
    def process_batch_files(self, encoding: BaseBatchFileEncoding, files: Sequence[str]) -> None:
        """Load local JSONL batch files whole (msgspec) and write them `batch_size_rows` documents at a time;
        anything else (remote storage, parquet) goes the SDK's way."""
        for url in files:
            path = local_batch_file(encoding, url)
            if path is None:
                super().process_batch_files(encoding, [url])
                continue
            self.commits.wait_for_writer()
            lines = read_lines(path, gzipped=encoding.compression == "gzip")
            records = decode_within_depth(lines) if self.files_within_depth else None
            within_depth = records is not None  # then no record's depth is measured again
            if records is None:  # the general decoder, for this file and (saving a decode) the stream's next ones
                self.files_within_depth = False
                records = decode_lines(lines)
            del lines
            for start in range(0, len(records), self.max_size):
                self.commit(self.documents(records[start : start + self.max_size], within_depth=within_depth))
            del records  # each part is freed once written
            # Deleted once its documents are written: the file has served, and it holds personal data.
            self.commits.after_writes(functools.partial(path.unlink, missing_ok=True))

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        self.commit(context.get("batch") or Batch())

    def commit(self, batch: Batch) -> None:
        """Queue the batch's write (with the records rejected since the last) and its run counts."""
        rejected, self.rejected = self.rejected, []
        if batch.documents or rejected:
            self.tally_record_written(len(batch.documents))
            self.oldest_written.add(batch.versions.values(), len(batch.documents))
            job = functools.partial(self._write, batch, rejected)
            self.commits.write(job, self.collection_name, batch.documents.keys())

    def _write(self, batch: Batch, rejected: list[UpdateOne]) -> None:
        counts, documents = WriteCounts(), batch.documents
        if documents:
            counts = self.writer.upsert(
                self.collection_name, batch, fresh=self.fresh, touch=self.touch, versions=self.history is not None
            )
        if counts.refused:  # records BSON cannot hold: kept aside like those refused before the batch
            rejected = rejected + [rejection(self.stream_name, why, key, record, self.run_id)
                                   for key, why, record in counts.refused]  # fmt: skip
            for why in sorted({why for _, why, _ in counts.refused}):
                self.logger.warning("%s: records rejected: %s", self.stream_name, why)
        if self.history is not None and counts.versions and counts.at is not None:
            history, versions, at = self.history, counts.versions, counts.at
            self.writer.retrying(lambda: record_versions(history, versions, at), f"history of {self.collection_name}")
        if rejected:
            kept = self.writer.database[REJECTED_COLLECTION]
            self.writer.retrying(lambda: kept.bulk_write(rejected, ordered=False), "rejected records")
        with self._inserted_lock:
            self.inserted += counts.inserted
        written = len(documents) - len(counts.refused)
        if self.run_id:
            runs = self.writer.database[RUNS_COLLECTION]
            self.writer.retrying(
                lambda: add_counts(runs, str(self.run_id), self.collection_name, counts, written, len(rejected)),
                "run counts",
            )
        self.logger.info(
            "%s: %d documents (%d inserted, %d changed, %d unchanged, %d rejected)", self.collection_name,
            written, counts.inserted, counts.changed, counts.unchanged, len(rejected),
        )  # fmt: skip

    def retire_older_versions(self, version: int) -> None:
        """ACTIVATE_VERSION(version): the documents of an older version (or none) not yet removed get
        `removed_at` (nothing is deleted) and their history closes. Queued as a write of every key of
        the collection: it starts once every batch before it is written, and no batch after it is
        written before it is done."""
        only_newer = self.oldest_written.not_older_than(version)  # what the batches queued before it hold
        retire = functools.partial(self._retire, version, only_newer=only_newer)
        self.commits.write(retire, self.collection_name, EVERY_KEY)

    def _retire(self, version: int, *, only_newer: bool) -> None:
        collection = self.writer.database[self.collection_name]

        def older(document: dict[str, Any]) -> bool:
            seen_in = document.get(VERSION_FIELD)
            return document.get("removed_at") is None and (not isinstance(seen_in, int) or seen_in < version)

        def mark() -> int | None:
            # Every document is one this run inserted, each last written of `version` or newer (a
            # first load's full read): none is older, and a million need not be read to find that out.
            if only_newer and collection.estimated_document_count() == self.inserted:
                return None
            # Compared here, not in the query: null tests are not faithful on every MongoDB-compatible
            # server (one key and two small fields per document, once per activated stream).
            keys = [d["_id"] for d in collection.find({}, {VERSION_FIELD: 1, "removed_at": 1}) if older(d)]
            if keys:
                collection.update_many({"_id": {"$in": keys}}, {"$currentDate": {"removed_at": True}})
                if self.history is not None:
                    close(self.history, keys, self.writer.server_now())
            return len(keys)

        marked = self.writer.retrying(mark, f"removals in {self.collection_name}")
        removed = marked or 0
        if self.run_id:
            runs = self.writer.database[RUNS_COLLECTION]
            self.writer.retrying(lambda: add_removed(runs, str(self.run_id), self.collection_name, removed), "counts")
        unread = " (none read: all this run's, of that version or newer)" if marked is None else ""
        self.logger.info(
            "%s: %d documents of a version older than %d, marked removed%s", self.collection_name, removed, version,
            unread,
        )  # fmt: skip
