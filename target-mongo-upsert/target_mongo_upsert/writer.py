"""Writing one batch: a single unordered bulk of keyed upserts, retried on transient errors."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import backoff
import bson
from bson.errors import InvalidDocument
from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConnectionFailure

log = logging.getLogger(__name__)
DUPLICATE_KEY = 11000
INSERTED, CHANGED, UNCHANGED = "inserted", "changed", "unchanged"  # what a write did to a key
# The Singer table version (RECORD `version`) a key was last seen in; absent when that record had none.
VERSION_FIELD = "table_version"
# What a record is stored with.
TRACKING_FIELDS = ("content_hash", "first_seen_at", "last_seen_at", "changed_at", VERSION_FIELD)
# What pymongo raises, before sending a write, for a document BSON cannot hold (an integer past 64
# bits, a NUL byte in a field name): one such document would fail its whole batch, run after run.
UNSTORABLE = (InvalidDocument, OverflowError)
T = TypeVar("T")


class BatchWriteError(RuntimeError):
    """A batch could not be written; the message says how far it got."""


@dataclass
class Batch:
    """Documents to write by key (`_id`), with their content hashes and table versions (kept apart
    from the document: a version is no content)."""

    documents: dict[Any, dict[str, Any]] = field(default_factory=dict)
    hashes: dict[Any, str] = field(default_factory=dict)
    versions: dict[Any, int] = field(default_factory=dict)  # only the keys whose record had a version

    def add(self, key: Any, document: dict[str, Any], content_hash: str, version: int | None = None) -> bool:
        """Add or replace (the last version of a key in a batch wins); whether the key was there."""
        there = key in self.documents
        self.documents[key], self.hashes[key] = document, content_hash
        if version is not None:
            self.versions[key] = version
        elif self.versions:
            self.versions.pop(key, None)
        return there


@dataclass
class WriteCounts:
    inserted: int = 0
    changed: int = 0  # a new content hash, or a key back after its removal
    unchanged: int = 0  # only last_seen_at and the touched fields written
    # (key, content hash, document) of every inserted or changed document, when asked for: the new versions
    versions: list[tuple[Any, str, dict[str, Any]]] = field(default_factory=list)
    at: dt.datetime | None = None  # the server's time of the write
    # (key, why, record as read) of each document BSON cannot hold: not written, to be kept aside
    refused: list[tuple[Any, str, dict[str, Any]]] = field(default_factory=list)


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

    def server_now(self) -> dt.datetime:
        """The server's clock: every time this target stores is the server's, so times written with
        `$currentDate` and times computed here compare on every server."""
        now: dt.datetime = self.database.command("hello")["localTime"]
        return now if now.tzinfo else now.replace(tzinfo=dt.UTC)

    def upsert(
        self, collection: str, batch: Batch, *, fresh: bool = False, touch: tuple[str, ...] = (), versions: bool = False
    ) -> WriteCounts:
        """Write the batch (by `_id`) in one unordered bulk_write, by what each document is to the stored
        one: a new key is inserted whole; changed content (another `content_hash`) replaces the
        document, keeping `first_seen_at`; unchanged content only gets `last_seen_at` and the `touch`
        fields. One indexed lookup per batch decides. For a collection that was empty when the run
        began (`fresh`) it is skipped: a key stored after all comes back as a duplicate-key error and
        is looked up then. `versions`: list the new versions in the counts (for a history)."""
        target = self.database[collection]

        def write() -> WriteCounts:
            stored = {} if fresh else _stored(target, list(batch.documents))
            return _write(target, batch, stored, touch, self.server_now(), versions=versions)

        return self.retrying(write, f"upsert of {len(batch.documents)} documents into {collection}")


def _stored(target: Collection[dict[str, Any]], keys: list[Any]) -> dict[Any, dict[str, Any]]:
    fields = {"content_hash": 1, "first_seen_at": 1, "changed_at": 1, "removed_at": 1, VERSION_FIELD: 1}
    return {d["_id"]: d for d in target.find({"_id": {"$in": keys}}, fields)}


def _first_version(
    key: Any, doc: dict[str, Any], new_hash: str, version: int | None, now: dt.datetime, *, in_place: bool
) -> dict[str, Any]:
    """A new key's document: the record with its content hash, first seen, last seen and changed now,
    and its table version when it has one."""
    fields: dict[str, Any] = {"content_hash": new_hash, "first_seen_at": now, "last_seen_at": now, "changed_at": now}
    if version is not None:
        fields[VERSION_FIELD] = version
    if in_place:  # the batch's own dict, which nothing reads as a record again: no copy (pymongo writes _id first)
        doc["_id"] = key
        doc.update(fields)
        return doc
    return {"_id": key, **doc, **fields}


def _operation(
    key: Any,
    doc: dict[str, Any],
    new_hash: str,
    version: int | None,
    old: dict[str, Any] | None,
    touch: tuple[str, ...],
    now: dt.datetime,
    *,
    in_place: bool,
) -> tuple[str, dict[str, Any] | ReplaceOne[dict[str, Any]] | UpdateOne]:
    """What to write for one key, by kind; an insert is its document (see `_send`)."""
    if old is None:
        return INSERTED, _first_version(key, doc, new_hash, version, now, in_place=in_place)
    if old.get("content_hash") == new_hash and old.get("removed_at") is None:
        # $currentDate keeps the date typed on every server ($set of a date is a string on some).
        touched = {field: doc[field] for field in touch if field in doc}
        update: dict[str, Any] = {"$currentDate": {"last_seen_at": True}}
        # A new table version is no change: only the version is written (or unset: a record without one).
        if version is not None and old.get(VERSION_FIELD) != version:
            touched[VERSION_FIELD] = version
        elif version is None and VERSION_FIELD in old:
            update["$unset"] = {VERSION_FIELD: ""}
        if touched:
            update["$set"] = touched
        return UNCHANGED, UpdateOne({"_id": key}, update)
    # Replaced whole: a field the source dropped is dropped here too; `removed_at` goes with it.
    changed_at = now if old.get("content_hash") != new_hash else old.get("changed_at", now)
    replacement = {
        "_id": key, **doc, "content_hash": new_hash, "first_seen_at": old.get("first_seen_at", now),
        "last_seen_at": now, "changed_at": changed_at,
    }  # fmt: skip
    if version is not None:
        replacement[VERSION_FIELD] = version
    return CHANGED, ReplaceOne({"_id": key}, replacement)


def _write(
    target: Collection[dict[str, Any]],
    batch: Batch,
    stored: dict[Any, dict[str, Any]],
    touch: tuple[str, ...],
    now: dt.datetime,
    *,
    versions: bool,
) -> WriteCounts:
    """Write every document by its kind; a key another writer inserted meanwhile (duplicate key on
    an insert) is looked up and written again."""
    counts = WriteCounts(at=now)
    documents, hashes, versions_of = batch.documents, batch.hashes, batch.versions
    # Naive UTC: the same BSON date as `now`, which pymongo encodes in a third of the time (three per document).
    stamp = now.astimezone(dt.UTC).replace(tzinfo=None)
    pending = list(documents)
    in_place = not versions  # a new version listed for a history keeps the record as read: its inserts are copies
    while pending:
        operations: list[dict[str, Any] | ReplaceOne[dict[str, Any]] | UpdateOne]
        if stored:
            planned = [_operation(key, documents[key], hashes[key], versions_of.get(key), stored.get(key), touch,
                                  stamp, in_place=in_place) for key in pending]  # fmt: skip
            kinds, operations = [kind for kind, _ in planned], [operation for _, operation in planned]
        else:  # none of these keys stored (a first load): every document is new, made in one pass
            kinds = [INSERTED] * len(pending)
            operations = [_first_version(key, documents[key], hashes[key], versions_of.get(key), stamp,
                                         in_place=in_place) for key in pending]  # fmt: skip
        try:
            _send(target, kinds, operations)
        except UNSTORABLE:
            refused = _refused(pending, kinds, documents, in_place=in_place)
            if not refused:
                raise
            counts.refused += refused
            gone = {key for key, _, _ in refused}
            pending = [key for key in pending if key not in gone]
            continue
        except BulkWriteError as err:
            errors = err.details.get("writeErrors") or []
            failed = {e["index"] for e in errors}
            written = [i for i in range(len(pending)) if i not in failed]
            _count(counts, [pending[i] for i in written], [kinds[i] for i in written], batch if versions else None)
            # A duplicate key on an insert is a race when the key turns out stored (another writer
            # inserted it meanwhile): it is written again. Anything else fails the batch.
            inserts = [e for e in errors if e.get("code") == DUPLICATE_KEY and kinds[e["index"]] == INSERTED]
            found = _stored(target, [pending[e["index"]] for e in inserts]) if inserts else {}
            raced = [e for e in inserts if pending[e["index"]] in found]
            if len(raced) != len(errors):
                first = next(e for e in errors if e not in raced)
                msg = (
                    f"bulk write to {target.name} failed: {counts.inserted} inserted, {counts.changed} changed, "
                    f"{counts.unchanged} unchanged, {len(errors) - len(raced)} errors; "
                    f"first: code {first.get('code')} {first.get('errmsg', '')[:300]}"
                )
                raise BatchWriteError(msg) from None
            pending = [pending[e["index"]] for e in raced]
            stored.update(found)
            continue
        _count(counts, pending, kinds, batch if versions else None)
        break
    return counts


def _refused(
    keys: list[Any], kinds: list[str], documents: dict[Any, dict[str, Any]], *, in_place: bool
) -> list[tuple[Any, str, dict[str, Any]]]:
    """The documents BSON cannot hold, each with why and its record as read (looked for only once
    pymongo has refused a batch for one)."""
    refused = []
    for key, kind in zip(keys, kinds, strict=True):
        try:
            bson.encode(documents[key])
        except UNSTORABLE as err:
            added = ("_id", *TRACKING_FIELDS) if in_place and kind == INSERTED else ()  # see _first_version
            record = {name: value for name, value in documents[key].items() if name not in added}
            refused.append((key, f"MongoDB cannot store it: {err}"[:300], record))
    return refused


def _send(
    target: Collection[dict[str, Any]],
    kinds: list[str],
    operations: list[dict[str, Any] | ReplaceOne[dict[str, Any]] | UpdateOne],
) -> None:
    """One unordered write: `insert_many` when every operation is an insert (a first load: no
    operation object per document), else `bulk_write`. Both report a failed write by its index."""
    if kinds.count(INSERTED) == len(kinds):
        target.insert_many([op for op in operations if isinstance(op, dict)], ordered=False)
    else:
        target.bulk_write([InsertOne(op) if isinstance(op, dict) else op for op in operations], ordered=False)


def _count(counts: WriteCounts, keys: list[Any], kinds: list[str], batch: Batch | None) -> None:
    """Add the written documents (`keys`, by kind) to the counts; with `batch`, list the new versions."""
    counts.inserted += kinds.count(INSERTED)
    counts.changed += kinds.count(CHANGED)
    counts.unchanged += kinds.count(UNCHANGED)
    if batch is not None:
        new = [key for key, kind in zip(keys, kinds, strict=True) if kind != UNCHANGED]
        counts.versions += [(key, batch.hashes[key], batch.documents[key]) for key in new]
