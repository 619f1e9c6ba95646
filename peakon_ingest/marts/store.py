"""The marts' side of MongoDB: plain reads of what was ingested, and mart collections replaced whole."""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import Any

from pymongo.database import Database
from pymongo.errors import OperationFailure

from peakon_ingest.marts.answers import FIELDS
from peakon_ingest.marts.options import PREFIX

STAGING = "marts_staging_"  # not `mart_*`: the analysts' role never reads a mart being built
INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "org": [[("manager_id", 1)], [("depth", 1)], [("name_words", 1)]],  # children, the tops, the search
    "release": [],
    "manager_question": [[("manager_id", 1), ("month", 1)], [("month", 1), ("question_id", 1)]],
    "driver_segment": [[("month", 1), ("segment", 1)]],
    "participation": [[("month", 1)]],
}
INSERT_BATCH = 5_000
READ_BATCH = 10_000

Document = dict[str, Any]


def employees(db: Database[Document]) -> Iterator[Document]:
    return db["employees"].find({}, {"attributes": 1, "relationships": 1, "removed_at": 1})


def history(db: Database[Document]) -> Iterator[Document]:
    # The whole record: the embedded server answers a dotted projection with dotted keys.
    return db["employees_history"].find({}, {"key": 1, "valid_from": 1, "valid_to": 1, "record": 1})


# Fields the target moves on every change of an employee, each read from an index by its latest value:
# a new or changed employee moves `changed_at` and opens a history version (`valid_from`), a removal
# sets `removed_at`, a return opens a version. `ANSWERED_AT` orders the weekly read of answers.
STAMPED = {"employees": ("changed_at", "removed_at"), "employees_history": ("valid_from",)}
ANSWERED_AT = "attributes.responseAnsweredAt"


def read_indexes(db: Database[Document]) -> None:
    """The indexes the marts' reads rest on (a no-op where they exist; the target makes the answers' own)."""
    for name, fields in STAMPED.items():
        for mark in fields:
            db[name].create_index(mark)
    db["answers_export"].create_index(ANSWERED_AT)


def staff_stamp(db: Database[Document]) -> str:
    """A digest that changes whenever the stored staff does: each staff collection's size and the latest
    value of each field in STAMPED. Read from indexes and collection counts: no employee is read (reading
    every employee's marks took the embedded server 3 s at 20,000)."""
    marks: list[Any] = []
    for name, fields in STAMPED.items():
        marks.append(db[name].estimated_document_count())
        for mark in fields:
            latest = db[name].find_one({}, {mark: 1}, sort=[(mark, -1)]) or {}
            marks.append(str(latest.get(mark)))
    return hashlib.sha256(json.dumps(marks).encode()).hexdigest()


def catalog(db: Database[Document]) -> dict[str, tuple[str | None, str | None]]:
    """Category id (as text, as answers carry it) -> (driver, sub-driver)."""
    return {
        str(doc.get("Id", doc["_id"])): (doc.get("Driver"), doc.get("SubDriver") or None)
        for doc in db["drivers_catalog"].find({}, {"Id": 1, "Driver": 1, "SubDriver": 1})
    }


def answers(db: Database[Document]) -> Iterator[Document]:
    """Every answer's `_id`, `removed_at` and FIELDS, nothing else. A `$project` of stored fields, no
    computation: it reads twice as fast as `find` on the embedded server, and a test holds it equal to
    `find` there (the embedded server may give an int `_id` as text)."""
    projection: dict[str, Any] = {"_id": 1, "removed_at": 1} | {name: f"$attributes.{name}" for name in FIELDS}
    return prefetched(db["answers_export"].aggregate([{"$project": projection}], batchSize=READ_BATCH))


def answered_since(db: Database[Document], month: str) -> Iterator[Document]:
    """The answers whose `responseAnsweredAt` is text from `month` (`YYYY-MM`) on, as `answers` gives
    them: a range of the ANSWERED_AT index (by `_id` it would be a read of every answer on the embedded
    server, which also sorts integer `_id`s as text)."""
    projection = {"removed_at": 1} | {f"attributes.{name}": 1 for name in FIELDS}
    cursor = db["answers_export"].find({ANSWERED_AT: {"$gte": month}}, projection, batch_size=READ_BATCH)
    for doc in prefetched(cursor):
        yield {"_id": doc["_id"], "removed_at": doc.get("removed_at"), **attributes(doc)}


def stored(db: Database[Document]) -> int:
    """How many answers the collection holds, removed ones included: from its metadata (counting them
    would read every answer on the embedded server)."""
    return db["answers_export"].estimated_document_count()


def attributes(doc: Document) -> Document:
    """A projected document's `attributes`, nested as on MongoDB or dotted as the embedded server gives them."""
    nested = doc.get("attributes")
    if isinstance(nested, dict):
        return nested
    return {name.removeprefix("attributes."): value for name, value in doc.items() if name.startswith("attributes.")}


def prefetched(documents: Iterable[Document], depth: int = 4) -> Iterator[Document]:
    """`documents`, read ahead by a thread: the server prepares the next batch while this one is
    processed (a cursor alone waits for each in turn, and the server's time is half the read)."""
    batches: queue.Queue[list[Document] | BaseException | None] = queue.Queue(maxsize=depth)

    def pump() -> None:
        try:
            batch: list[Document] = []
            for doc in documents:
                batch.append(doc)
                if len(batch) == READ_BATCH:
                    batches.put(batch)
                    batch = []
            batches.put(batch)
            batches.put(None)
        except BaseException as err:  # noqa: BLE001 - handed to the reader, which raises it
            batches.put(err)

    threading.Thread(target=pump, name="marts-read-ahead", daemon=True).start()
    while (item := batches.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield from item


class Staging:
    """Mart `name` built aside (`marts_staging_<name>_<random>`, filled as it is computed), then renamed over
    the old one whole (renameCollection with dropTarget: atomic on MongoDB). On a server where that
    rename does not take effect (the embedded one runs it against `admin`), the old mart is dropped
    and the new one renamed: a reader may then find the mart missing for a moment, but never partial."""

    def __init__(self, db: Database[Document], name: str) -> None:
        self.db, self.name = db, name
        # A name of its own each time: the embedded server keeps a renamed collection's old name as
        # an alias, so dropping or filling a reused name would empty or fill the published mart.
        self.staging, self.target = f"{STAGING}{name}_{uuid.uuid4().hex[:12]}", PREFIX + name
        self.rows = 0
        for leftover in db.list_collection_names():  # of a build that died (listed: never renamed)
            if leftover.startswith(f"{STAGING}{name}_"):
                db.drop_collection(leftover)
        db.create_collection(self.staging)

    def append(self, rows: list[Document]) -> None:
        for start in range(0, len(rows), INSERT_BATCH):
            self.db[self.staging].insert_many(rows[start : start + INSERT_BATCH], ordered=False)
        self.rows += len(rows)

    def discard(self) -> None:
        self.db.drop_collection(self.staging)

    def publish(self) -> None:
        db = self.db
        full = f"{db.name}.{self.staging}", f"{db.name}.{self.target}"
        with suppress(OperationFailure):  # checked below, whatever the server said
            db.client.admin.command("renameCollection", full[0], to=full[1], dropTarget=True)
        if self.staging in db.list_collection_names():
            db.drop_collection(self.target)
            db.command("renameCollection", full[0], to=full[1])
        stored = db[self.target].count_documents({})
        if stored != self.rows or self.staging in db.list_collection_names():
            msg = f"{self.target}: the new mart did not replace the old one ({stored} documents, {self.rows} expected)"
            raise RuntimeError(msg)
        # Indexed once published (a no-op where they exist): the embedded server loses track of an
        # index built on a collection that is renamed afterwards.
        for keys in INDEXES.get(self.name, []):
            db[self.target].create_index(keys)
