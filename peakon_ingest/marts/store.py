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
    "org": [[("manager_id", 1)]],
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


def staff_stamp(db: Database[Document]) -> str:
    """A digest that changes whenever the stored staff does: each employee's `changed_at` and
    `removed_at` (the target's), and how many versions the history holds. Reads no attribute."""
    marks = sorted(
        (str(doc["_id"]), str(doc.get("changed_at")), str(doc.get("removed_at")))
        for doc in db["employees"].find({}, {"changed_at": 1, "removed_at": 1})
    )
    versions = db["employees_history"].count_documents({})
    return hashlib.sha256(json.dumps([marks, versions]).encode()).hexdigest()


def catalog(db: Database[Document]) -> dict[str, tuple[str | None, str | None]]:
    """Category id (as text, as answers carry it) -> (driver, sub-driver)."""
    return {
        str(doc.get("Id", doc["_id"])): (doc.get("Driver"), doc.get("SubDriver") or None)
        for doc in db["drivers_catalog"].find({}, {"Id": 1, "Driver": 1, "SubDriver": 1})
    }


def answers(db: Database[Document]) -> Iterator[Document]:
    """Every answer's `_id` and FIELDS, nothing else. A `$project` of stored fields, no computation:
    it reads twice as fast as `find` on the embedded server, and a test holds it equal to `find`
    there (the embedded server may give an int `_id` as text)."""
    projection: dict[str, Any] = {"_id": 1, "removed_at": 1} | {name: f"$attributes.{name}" for name in FIELDS}
    cursor = db["answers_export"].aggregate([{"$project": projection}], batchSize=READ_BATCH)
    for doc in prefetched(cursor):
        if doc.get("removed_at") is None:
            yield doc


def since(db: Database[Document], after: Any, *, inclusive: bool) -> Iterator[Document]:
    """The answers whose `_id` is above `after` (or equal, when `inclusive`), as `answers` gives them.
    A filter, not a walk of a descending `_id` sort: the embedded server sorts integer `_id`s as text
    (99 above 100), so a walk that stops at `after` misses answers there; MongoDB answers the filter
    from its `_id` index, the embedded server by reading every answer."""
    projection = {"removed_at": 1} | {f"attributes.{name}": 1 for name in FIELDS}
    query = {"_id": {"$gte" if inclusive else "$gt": after}}
    for doc in prefetched(db["answers_export"].find(query, projection, batch_size=READ_BATCH)):
        if doc.get("removed_at") is None:
            yield {"_id": doc["_id"], **attributes(doc)}


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
