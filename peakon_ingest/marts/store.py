"""The marts' side of MongoDB: plain reads of what was ingested, and mart collections replaced whole."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
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


def catalog(db: Database[Document]) -> dict[str, tuple[str | None, str | None]]:
    """Category id (as text, as answers carry it) -> (driver, sub-driver)."""
    return {
        str(doc.get("Id", doc["_id"])): (doc.get("Driver"), doc.get("SubDriver") or None)
        for doc in db["drivers_catalog"].find({}, {"Id": 1, "Driver": 1, "SubDriver": 1})
    }


def answers(
    db: Database[Document], first: str | None = None, end: str | None = None, newer_than: Any = None
) -> Iterator[Mapping[str, Any]]:
    """The answers' FIELDS, nothing else: all of them; or those of the months from `first` up to `end`
    (excluded; `YYYY-MM`, compared with `responseAnsweredAt` as text, whose first 7 characters are its
    month), and those whose `_id` is above `newer_than`, in one read. A `$project` of stored fields, no
    computation: it reads twice as fast as `find` on the embedded server, and a test holds it equal
    to `find` there."""
    projection: dict[str, Any] = {"_id": 0, "removed_at": 1} | {name: f"$attributes.{name}" for name in FIELDS}
    when = ({"$gte": first} if first else {}) | ({"$lt": end} if end else {})
    conditions: list[dict[str, Any]] = [{"attributes.responseAnsweredAt": when}] if when else []
    conditions += [{"_id": {"$gt": newer_than}}] if newer_than is not None else []
    match = [{"$match": conditions[0] if len(conditions) == 1 else {"$or": conditions}}] if conditions else []
    cursor = db["answers_export"].aggregate([*match, {"$project": projection}], batchSize=READ_BATCH)
    for doc in prefetched(cursor):
        if doc.get("removed_at") is None:
            yield doc


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
