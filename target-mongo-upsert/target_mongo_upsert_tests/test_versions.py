"""ACTIVATE_VERSION and table versions, replayed through the real target into MongoDB."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pymongo import ASCENDING
from pymongo.database import Database

from .helpers import last_line, run_target

Db = Database[dict[str, Any]]


def schema(stream: str = "orders", keys: list[str] | None = None) -> str:
    properties = {"id": {"type": "integer"}, "v": {"type": ["integer", "null"]}}
    keys = ["id"] if keys is None else keys
    message = {"type": "SCHEMA", "stream": stream, "schema": {"properties": properties}, "key_properties": keys}
    return json.dumps(message)


def activate(version: int, stream: str = "orders") -> str:
    return json.dumps({"type": "ACTIVATE_VERSION", "stream": stream, "version": version})


def records(rows: list[dict[str, Any]], version: int | None, stream: str = "orders") -> list[str]:
    tagged = {} if version is None else {"version": version}
    return [json.dumps({"type": "RECORD", "stream": stream, "record": row, **tagged}) for row in rows]


def sdk_order(rows: list[dict[str, Any]], version: int, stream: str = "orders") -> list[str]:
    """A full read as the SDK sends it: the version announced, its records, then activated."""
    return [activate(version, stream), *records(rows, version, stream), activate(version, stream)]


def announced_only(rows: list[dict[str, Any]], version: int, stream: str = "orders") -> list[str]:
    """A full read as SDK 0.54 taps (tap-postgres) send it: the version announced before its records, never closed."""
    return [activate(version, stream), *records(rows, version, stream)]


def replay(tmp_path: Path, mongo_uri: str, db: Db, lines: list[str], run_id: str, **config: Any) -> dict[str, Any]:
    """Run the target on `lines`; the run's counts per collection."""
    done = run_target(tmp_path, mongo_uri, db.name, "\n".join(lines) + "\n", run_id=run_id, **config)
    assert done.returncode == 0, done.stderr[-2000:]
    run = db["ingestion_runs"].find_one({"_id": run_id})
    assert run is not None
    return dict(run["counts"])


def live(db: Db, collection: str = "orders") -> set[Any]:
    return {d["_id"] for d in db[collection].find() if d.get("removed_at") is None}


def removed(db: Db, collection: str = "orders") -> set[Any]:
    return {d["_id"] for d in db[collection].find() if d.get("removed_at") is not None}


def test_a_version_announced_first_marks_nothing_and_its_activation_retires_exactly_the_rows_deleted_upstream(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    rows = [{"id": i, "v": i} for i in range(1, 6)]
    first = replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(rows, 100)], "r1", history=["orders"])
    assert first["orders"] == {"records": 5, "inserted": 5, "changed": 0, "unchanged": 0, "rejected": 0, "removed": 0}
    assert {d["_id"]: d["table_version"] for d in mongo_db["orders"].find()} == dict.fromkeys(range(1, 6), 100)
    # Rows 3 and 5 deleted upstream: the announcement of 200 retires nothing; its activation exactly those two.
    kept = [r for r in rows if r["id"] not in {3, 5}]
    second = replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(kept, 200)], "r2", history=["orders"])
    assert second["orders"] == {"records": 3, "inserted": 0, "changed": 0, "unchanged": 3, "rejected": 0, "removed": 2}
    assert (live(mongo_db), removed(mongo_db)) == ({1, 2, 4}, {3, 5})
    documents = {d["_id"]: d for d in mongo_db["orders"].find()}
    assert {k: d["table_version"] for k, d in documents.items()} == {1: 200, 2: 200, 3: 100, 4: 200, 5: 100}
    assert all(d["changed_at"] == d["first_seen_at"] for d in documents.values())  # never rewritten
    # One history version per key: nothing was removed and brought back; the removed ones closed.
    history = list(mongo_db["orders_history"].find())
    assert sorted(v["key"] for v in history) == [1, 2, 3, 4, 5]
    assert {v["key"] for v in history if v["valid_to"] is not None} == {3, 5}


def test_a_first_full_read_into_an_empty_collection_is_activated_without_reading_it_back(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    """Every document one this run inserted, all of the version activated: none can be older (a first
    load of a million answers read nothing back); a run that wrote an older version too reads them."""
    rows = [{"id": i, "v": i} for i in range(1, 6)]
    config: dict[str, Any] = {"parallel_writes": 2, "batch_size_rows": 2}
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join([schema(), *sdk_order(rows, 1)]) + "\n", **config)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "orders: 0 documents of a version older than 1, marked removed (none read" in done.stderr
    assert live(mongo_db) == {1, 2, 3, 4, 5}
    # In one run into another empty collection: version 2 whole, then version 3 without row 1.
    lines = [schema("parts"), *sdk_order(rows, 2, "parts"), *sdk_order(rows[1:], 3, "parts")]
    assert replay(tmp_path, mongo_uri, mongo_db, lines, "r2", **config)["parts"]["removed"] == 1
    assert (live(mongo_db, "parts"), removed(mongo_db, "parts")) == ({2, 3, 4, 5}, {1})


def test_an_activation_with_no_record_of_its_version_retires_every_row_and_a_later_announcement_nothing(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    rows = [{"id": i} for i in range(1, 4)]
    replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(rows, 1)], "r1")
    # A lone ACTIVATE_VERSION of a version nothing named yet: an announcement, so nothing is retired
    # (when the end of input applies it, it retires everything: see the tests of announced versions below).
    lines = [schema(), activate(2)]
    assert replay(tmp_path, mongo_uri, mongo_db, lines, "r2", activate_announced_at_end=False) == {}
    assert live(mongo_db) == {1, 2, 3}
    # The table emptied upstream: version 3 announced, then activated with no record.
    counts = replay(tmp_path, mongo_uri, mongo_db, [schema(), activate(3), activate(3)], "r3")
    assert counts["orders"]["removed"] == 3
    assert removed(mongo_db) == {1, 2, 3}


def test_records_without_a_version_belong_to_none_and_an_activation_retires_them(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    """As the Singer spec has it (and target-postgres does): a source must tag its records."""
    rows = [{"id": i} for i in (1, 2, 3, 4)]
    replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(rows, 6)], "r1")
    # 1 and 2 again without a version (unchanged: their version is unset), 3 with one, 4 new without.
    lines = [schema(), activate(7), *records([rows[0], rows[1]], None), *records([rows[2]], 7),
             *records([{"id": 5}], None), activate(7)]  # fmt: skip
    counts = replay(tmp_path, mongo_uri, mongo_db, lines, "r2")["orders"]
    assert (counts["inserted"], counts["changed"], counts["unchanged"], counts["removed"]) == (1, 0, 3, 4)
    assert (live(mongo_db), removed(mongo_db)) == ({3}, {1, 2, 4, 5})
    versions = {d["_id"]: d.get("table_version") for d in mongo_db["orders"].find()}
    assert versions == {1: None, 2: None, 3: 7, 4: 6, 5: None}


def test_parallel_writes_twenty_reruns_with_new_versions_mark_no_live_row_removed_and_count_nothing_changed(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    """Twenty full reads of a table, each a new version in the SDK's order, written in many batches two
    at a time, with one row deleted upstream before each: after every run exactly the deleted rows
    are marked removed, and no unchanged row counts as changed."""
    rows = [{"id": i, "v": i % 7} for i in range(300)]
    gone: set[int] = set()
    for run in range(1, 21):
        kept = [r for r in rows if r["id"] not in gone]
        version = 1_700_000_000 + run
        counts = replay(
            tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(kept, version)], f"r{run}",
            parallel_writes=2, batch_size_rows=25,
        )["orders"]  # fmt: skip
        expected_removed = 1 if run > 1 else 0
        assert (counts["inserted"], counts["changed"], counts["removed"]) == (
            300 if run == 1 else 0, 0, expected_removed), f"run {run}"  # fmt: skip
        assert (live(mongo_db), removed(mongo_db)) == ({r["id"] for r in kept}, gone), f"run {run}"
        gone.add(run * 13)


def test_the_activation_waits_for_a_large_last_batch_before_it(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    """Every record in one batch, drained by the closing ACTIVATE_VERSION itself: the removals must see
    the batch written, or they would mark rows of the new version removed."""
    rows = [{"id": i, "v": 1} for i in range(2000)]
    for run in (1, 2):
        counts = replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(rows, run)], f"r{run}")["orders"]
        assert (counts["removed"], counts["changed"]) == (0, 0), f"run {run}"
        assert removed(mongo_db) == set(), f"run {run}"


def test_a_stream_without_key_properties_appends_every_record_and_activation_retires_older_versions(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    rows = [{"id": 1, "v": 5}, {"id": 1, "v": 5}, {"id": 2, "v": 6}]  # two equal rows: two rows of the source
    first = replay(tmp_path, mongo_uri, mongo_db, [schema(keys=[]), *sdk_order(rows, 1)], "r1")["orders"]
    assert (first["inserted"], first["removed"]) == (3, 0)
    assert sorted((d["id"], d["v"]) for d in mongo_db["orders"].find()) == [(1, 5), (1, 5), (2, 6)]
    second = replay(tmp_path, mongo_uri, mongo_db, [schema(keys=[]), *sdk_order(rows[1:], 2)], "r2")["orders"]
    assert (second["inserted"], second["changed"], second["unchanged"], second["removed"]) == (2, 0, 0, 3)
    documents = list(mongo_db["orders"].find())
    assert len(documents) == 5
    assert sorted((d["table_version"], d.get("removed_at") is None) for d in documents) == [
        (1, False), (1, False), (1, False), (2, True), (2, True)]  # fmt: skip


def test_an_activation_for_a_stream_never_seen_is_a_warning_and_nothing_else(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order([{"id": 1}], 1)], "r1")
    lines = [
        activate(2, stream="ghosts"),
        schema(),
        json.dumps({"type": "ACTIVATE_VERSION", "stream": "orders", "version": "2"}),
        json.dumps({"type": "ACTIVATE_VERSION", "stream": "orders"}),
    ]
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ACTIVATE_VERSION for stream 'ghosts', which sent no SCHEMA: ignored" in done.stderr
    assert done.stderr.count("ACTIVATE_VERSION for stream 'orders' without an integer version: ignored") == 2
    assert "ghosts" not in mongo_db.list_collection_names()
    assert live(mongo_db) == {1}


def test_the_records_of_a_batch_file_belong_to_the_version_the_stream_announced(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order([{"id": i} for i in (1, 2, 3)], 1)], "r1")
    path = tmp_path / "orders-1.jsonl"
    path.write_text("".join(json.dumps({"id": i}) + "\n" for i in (1, 3)))
    encoding = {"format": "jsonl", "compression": "none"}
    batch = json.dumps({"type": "BATCH", "stream": "orders", "encoding": encoding, "manifest": [path.as_uri()]})
    counts = replay(tmp_path, mongo_uri, mongo_db, [schema(), activate(2), batch, activate(2)], "r2")["orders"]
    assert (counts["unchanged"], counts["changed"], counts["removed"]) == (2, 0, 1)
    assert {d["_id"]: d["table_version"] for d in mongo_db["orders"].find()} == {1: 2, 2: 1, 3: 2}
    assert removed(mongo_db) == {2}


def test_a_version_announced_and_never_closed_is_applied_at_the_end_of_input_as_a_closing_activation_would_be(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    """SDK 0.54 taps announce a full read's version once, before its records, and never close it: the
    end of input applies it, after every batch (two in flight, many small ones), with the same counts
    and history as the first test's closing ACTIVATE_VERSION."""
    rows = [{"id": i, "v": i} for i in range(1, 6)]
    config: dict[str, Any] = {"history": ["orders"], "parallel_writes": 2, "batch_size_rows": 2}
    first = replay(tmp_path, mongo_uri, mongo_db, [schema(), *announced_only(rows, 100)], "r1", **config)
    assert first["orders"] == {"records": 5, "inserted": 5, "changed": 0, "unchanged": 0, "rejected": 0, "removed": 0}
    kept = [r for r in rows if r["id"] not in {3, 5}]
    second = replay(tmp_path, mongo_uri, mongo_db, [schema(), *announced_only(kept, 200)], "r2", **config)
    assert second["orders"] == {"records": 3, "inserted": 0, "changed": 0, "unchanged": 3, "rejected": 0, "removed": 2}
    assert (live(mongo_db), removed(mongo_db)) == ({1, 2, 4}, {3, 5})
    documents = {d["_id"]: d for d in mongo_db["orders"].find()}
    assert {k: d["table_version"] for k, d in documents.items()} == {1: 200, 2: 200, 3: 100, 4: 200, 5: 100}
    assert all(d["changed_at"] == d["first_seen_at"] for d in documents.values())
    history = list(mongo_db["orders_history"].find())
    assert sorted(v["key"] for v in history) == [1, 2, 3, 4, 5]
    assert {v["key"] for v in history if v["valid_to"] is not None} == {3, 5}
    # The table emptied upstream: the SDK announces a version and sends no record.
    assert replay(tmp_path, mongo_uri, mongo_db, [schema(), activate(300)], "r3")["orders"]["removed"] == 3
    assert live(mongo_db) == set()


def test_a_version_closed_in_the_input_is_not_applied_again_at_its_end(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    rows = [{"id": i} for i in range(1, 4)]
    replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(rows, 1)], "r1")
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join([schema(), *sdk_order(rows[:2], 2)]) + "\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "applied at the end of input" not in done.stderr
    assert removed(mongo_db) == {3}


def test_with_activate_announced_at_end_off_a_version_never_closed_retires_nothing(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    """As the operator runs it: tap-peakon closes a version only after a complete read, so one it
    announced and did not close is a read that stopped short, which must not retire what it missed."""
    rows = [{"id": i} for i in range(1, 6)]
    replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(rows, 1)], "r1")
    lines = [schema(), *announced_only(rows[:2], 2)]
    counts = replay(tmp_path, mongo_uri, mongo_db, lines, "r2", activate_announced_at_end=False)["orders"]
    assert (counts["unchanged"], counts["changed"], "removed" in counts) == (2, 0, False)
    assert (live(mongo_db), removed(mongo_db)) == ({1, 2, 3, 4, 5}, set())
    assert {d["_id"]: d["table_version"] for d in mongo_db["orders"].find()} == {1: 2, 2: 2, 3: 1, 4: 1, 5: 1}


@pytest.mark.parametrize("failure", ["malformed last line", "failed write"])
def test_an_input_ending_in_an_error_applies_no_announced_version(
    tmp_path: Path, mongo_uri: str, mongo_db: Db, failure: str
) -> None:
    rows = [{"id": i, "v": i} for i in range(1, 6)]
    replay(tmp_path, mongo_uri, mongo_db, [schema(), *sdk_order(rows, 1)], "r1")
    lines = [schema(), *announced_only(rows[:2], 2)]
    if failure == "malformed last line":
        lines.append('{"type": "RECORD", "stream": "orders", "record": ')
    else:  # a real write error: a new row clashing with row 1 in a unique index
        mongo_db["orders"].create_index([("v", ASCENDING)], unique=True, name="one_per_v")
        lines += records([{"id": 9, "v": 1}], 2)
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join(lines) + "\n", run_id="r2")
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("target-mongo-upsert: error: ")
    assert "applied at the end of input" not in done.stderr
    assert removed(mongo_db) == set()
    run = mongo_db["ingestion_runs"].find_one({"_id": "r2"}) or {}
    assert run.get("counts", {}).get("orders", {}).get("removed", 0) == 0
