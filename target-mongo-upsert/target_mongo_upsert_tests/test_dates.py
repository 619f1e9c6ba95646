"""Schema `date-time` fields stored as BSON dates (`dates_as_bson`), through the real target."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database

from .helpers import run_target

Db = Database[dict[str, Any]]
DATE_TIME = {"type": "string", "format": "date-time"}
SCHEMA = {
    "type": "SCHEMA",
    "stream": "orders",
    "key_properties": ["id"],
    "schema": {
        "properties": {
            "id": {"type": "integer"},
            "at": DATE_TIME,
            "maybe": {"anyOf": [DATE_TIME, {"type": "null"}]},
            "text": {"type": "string"},
            "inner": {"type": ["object", "null"], "properties": {"at": DATE_TIME | {"type": ["string", "null"]}}},
            "times": {"type": "array", "items": DATE_TIME},
            "events": {"type": "array", "items": {"type": "object", "properties": {"at": DATE_TIME}}},
        }
    },
}
RECORD = {
    "id": 1,
    "at": "2024-05-06T07:08:09.123456Z",
    "maybe": "2024-05-06T09:08:09+02:00",
    "text": "2024-05-06T07:08:09Z",  # no date-time in the schema: a string
    "inner": {"at": "2024-05-06T07:08:09"},  # no offset: UTC
    "times": ["2024-01-02T03:04:05Z", "not a date", 7],
    "events": [{"at": "2024-01-02T03:04:05+00:00"}, {"at": None}],
    "extra": "2024-05-06T07:08:09Z",  # not in the schema: a string
}


def at(*parts: int) -> dt.datetime:
    """A BSON date as the tests' client reads it (naive, in UTC)."""
    return dt.datetime(*parts)  # type: ignore[arg-type]  # noqa: DTZ001


def lines(record: dict[str, Any], tmp_path: Path, way: str) -> str:
    if way == "records":
        data = json.dumps({"type": "RECORD", "stream": "orders", "record": record})
    else:
        path = tmp_path / "orders-1.jsonl"
        path.write_text(json.dumps(record) + "\n")
        encoding = {"format": "jsonl", "compression": "none"}
        data = json.dumps({"type": "BATCH", "stream": "orders", "encoding": encoding, "manifest": [path.as_uri()]})
    return f"{json.dumps(SCHEMA)}\n{data}\n"


@pytest.mark.parametrize("way", ["records", "batch file"])
def test_date_time_fields_are_stored_as_dates_at_any_depth_and_the_rest_as_sent(
    tmp_path: Path, mongo_uri: str, mongo_db: Db, way: str
) -> None:
    done = run_target(tmp_path, mongo_uri, mongo_db.name, lines(RECORD, tmp_path, way), run_id="r1")
    assert done.returncode == 0, done.stderr[-2000:]
    stored = mongo_db["orders"].find_one({"_id": 1})
    assert stored is not None
    assert stored["at"] == at(2024, 5, 6, 7, 8, 9, 123000)  # BSON keeps milliseconds
    assert stored["maybe"] == at(2024, 5, 6, 7, 8, 9)
    assert stored["text"] == stored["extra"] == "2024-05-06T07:08:09Z"
    assert stored["inner"] == {"at": at(2024, 5, 6, 7, 8, 9)}
    assert stored["times"] == [at(2024, 1, 2, 3, 4, 5), "not a date", 7]
    assert stored["events"] == [{"at": at(2024, 1, 2, 3, 4, 5)}, {"at": None}]
    # The content hash is the record's as sent: the same record again is unchanged.
    again = run_target(tmp_path, mongo_uri, mongo_db.name, lines(RECORD, tmp_path, way), run_id="r2")
    assert again.returncode == 0, again.stderr[-2000:]
    run = mongo_db["ingestion_runs"].find_one({"_id": "r2"})
    assert run is not None
    assert (run["counts"]["orders"]["unchanged"], run["counts"]["orders"]["changed"]) == (1, 0)


def test_with_dates_as_bson_off_every_value_is_stored_as_sent(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    done = run_target(tmp_path, mongo_uri, mongo_db.name, lines(RECORD, tmp_path, "records"), dates_as_bson=False)
    assert done.returncode == 0, done.stderr[-2000:]
    stored = mongo_db["orders"].find_one({"_id": 1})
    assert stored is not None
    assert {k: v for k, v in stored.items() if k in RECORD} == RECORD
