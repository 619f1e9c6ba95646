"""target-mongo-upsert as a real process, replaying `.singer` files into MongoDB."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator.embedded_mongo import free_port
from pymongo import ASCENDING
from pymongo.database import Database

from .helpers import DATA, last_line, objects, run_target

Db = Database[dict[str, Any]]


def stdout_states(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_replay_writes_documents_keyed_by_id_as_received(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    done = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "orders.singer")
    assert done.returncode == 0, done.stderr
    orders = {d["_id"]: d for d in mongo_db["orders"].find()}
    assert sorted(orders) == [1001, 1002, 1003]
    assert orders[1001]["attributes"] == {"orderId": 1001, "amount": 7, "customerId": "5001"}
    # Unexpected types, unknown fields and unparseable dates are stored exactly as received.
    assert orders[1003]["attributes"]["amount"] == "10"
    assert orders[1003]["attributes"]["unknownExtra"] == {"nested": [1, 2]}
    assert orders[1003]["fetched_at"] == "not a date"
    assert all("first_seen_at" in d for d in orders.values())
    # The last version of a key inside one batch wins.
    customers = list(mongo_db["customers"].find())
    assert [(e["_id"], e["attributes"]["region"]) for e in customers] == [(5001, "Sales")]


def test_state_is_saved_after_commit_and_emitted(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    done = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "orders.singer")
    assert done.returncode == 0, done.stderr
    state = {d["_id"]: d for d in mongo_db["sync_state"].find()}
    final = {"bookmarks": {"orders": {"replication_key": "_id", "replication_key_value": 1003},
                           "customers": {"last_customer_id": 5001}}}  # fmt: skip
    assert state["singer_state"]["value"] == final
    assert state["orders"]["last_order_id"] == 1003
    assert state["customers"]["last_customer_id"] == 5001
    assert stdout_states(done.stdout)[-1] == final
    assert stdout_states(done.stdout)[0]["bookmarks"]["orders"]["replication_key_value"] == 1002


def test_same_input_twice_is_idempotent(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    first = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "orders.singer", run_id="run-1")
    snapshot = {c: sorted(mongo_db[c].find(), key=lambda d: str(d["_id"])) for c in ("orders", "customers")}
    second = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "orders.singer", run_id="run-2")
    assert first.returncode == second.returncode == 0, second.stderr
    again = {c: sorted(mongo_db[c].find(), key=lambda d: str(d["_id"])) for c in ("orders", "customers")}
    for name, documents in snapshot.items():  # nothing rewritten but last_seen_at: first_seen_at kept
        for before, after in zip(documents, again[name], strict=True):
            assert after["last_seen_at"] >= before["last_seen_at"]
            assert {k: v for k, v in after.items() if k != "last_seen_at"} == {
                k: v for k, v in before.items() if k != "last_seen_at"
            }
    runs = {r["_id"]: r["counts"] for r in mongo_db["ingestion_runs"].find()}
    assert runs["run-1"]["orders"]["inserted"] == 3
    assert runs["run-2"]["orders"] == {"records": 3, "inserted": 0, "changed": 0, "unchanged": 3, "rejected": 0}
    assert runs["run-2"]["customers"]["inserted"] == 0


def test_composite_keys_are_joined(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    done = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "composite_key.singer")
    assert done.returncode == 0, done.stderr
    assert {d["_id"]: d["v"] for d in mongo_db["pairs"].find()} == {"x::1": 3, "x::2": 2}


def test_record_without_key_fails_naming_stream_and_position(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    done = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "missing_key.singer")
    assert done.returncode == 1
    assert last_line(done.stderr) == (
        "target-mongo-upsert: error: stream orders: record 2 has no value for key property '_id'"
    )


def test_invalid_line_fails_with_its_number_not_its_content(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    done = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "bad_line.singer")
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("target-mongo-upsert: error: line 3 of the input is not valid Singer JSON")
    assert "secret.person" not in done.stderr


def test_unreachable_mongo_fails_fast_in_one_line_without_password(tmp_path: Path, mongo_db: Db) -> None:
    port = free_port()
    started = time.monotonic()
    done = run_target(
        tmp_path, f"mongodb://ingest:S3cretPassw0rd@127.0.0.1:{port}/?directConnection=true", mongo_db.name,
        DATA / "orders.singer", server_selection_timeout_ms=1500,
    )  # fmt: skip
    assert done.returncode == 1
    assert time.monotonic() - started < 20
    expected = f"MongoDB at 127.0.0.1:{port} is unreachable after 1.5s (ServerSelectionTimeoutError)"
    assert last_line(done.stderr) == f"target-mongo-upsert: error: {expected}"
    assert "S3cretPassw0rd" not in done.stderr + done.stdout


def test_failed_flush_leaves_sync_state_unchanged(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    first = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "orders.singer")
    assert first.returncode == 0, first.stderr
    before = list(mongo_db["sync_state"].find())
    # A real write error: a unique index that the next batch violates.
    mongo_db["orders"].create_index([("attributes.amount", ASCENDING)], unique=True, name="one_per_score")
    schema = (DATA / "orders.singer").read_text().splitlines()[0]
    clash = [
        schema,
        json.dumps({"type": "RECORD", "stream": "orders", "record": {"_id": 2001, "attributes": {"amount": 7}}}),
        json.dumps({"type": "STATE", "value": {"bookmarks": {"orders": {"replication_key_value": 2001}}}}),
    ]
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join(clash) + "\n")
    assert done.returncode == 1
    assert last_line(done.stderr).startswith(
        "target-mongo-upsert: error: bulk write to orders failed: "
        "0 inserted, 0 changed, 0 unchanged, 1 errors; first: code 11000"
    )
    assert list(mongo_db["sync_state"].find()) == before
    assert mongo_db["orders"].count_documents({"_id": 2001}) == 0


def test_batch_files_are_loaded_whole_then_deleted(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    batch = tmp_path / "orders-1.jsonl"
    batch.write_text("".join(json.dumps({"_id": i, "attributes": {"orderId": i}}) + "\n" for i in (5, 6, 5)))
    schema = (DATA / "orders.singer").read_text().splitlines()[0]
    messages = [
        schema,
        json.dumps(
            {
                "type": "BATCH",
                "stream": "orders",
                "encoding": {"format": "jsonl", "compression": "none"},
                "manifest": [batch.as_uri()],
            }
        ),
        json.dumps({"type": "STATE", "value": {"bookmarks": {"orders": {"replication_key_value": 6}}}}),
    ]
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join(messages) + "\n", run_id="batch-run")
    assert done.returncode == 0, done.stderr
    assert sorted(d["_id"] for d in mongo_db["orders"].find()) == [5, 6]
    assert not batch.exists()
    assert mongo_db["sync_state"].find_one({"_id": "orders"})["last_order_id"] == 6  # type: ignore[index]
    run = mongo_db["ingestion_runs"].find_one({"_id": "batch-run"})
    assert run is not None
    assert run["counts"]["orders"]["inserted"] == 2


def test_a_key_repeated_in_a_later_batch_of_a_first_sync_is_updated(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    """A first sync inserts without looking keys up; a key already stored by an earlier batch comes
    back as a duplicate-key error and is updated instead."""
    schema = (DATA / "orders.singer").read_text().splitlines()[0]

    def record(version: int) -> str:
        return json.dumps({"type": "RECORD", "stream": "orders", "record": {"_id": 7, "v": version}})

    state = json.dumps({"type": "STATE", "value": {"bookmarks": {"orders": {"replication_key_value": 7}}}})
    lines = [schema, record(1), state, record(2), state.replace("7}", '7, "again": 1}')]
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join(lines) + "\n", run_id="repeat")
    assert done.returncode == 0, done.stderr
    assert [(d["_id"], d["v"]) for d in mongo_db["orders"].find()] == [(7, 2)]
    run = mongo_db["ingestion_runs"].find_one({"_id": "repeat"})
    assert run is not None
    assert run["counts"]["orders"] == {"records": 2, "inserted": 1, "changed": 1, "unchanged": 0, "rejected": 0}


def batch_message(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return json.dumps(
        {
            "type": "BATCH",
            "stream": "orders",
            "encoding": {"format": "jsonl", "compression": "none"},
            "manifest": [path.as_uri()],
        }
    )


def orders_state(last: int) -> str:
    return json.dumps({"type": "STATE", "value": {"bookmarks": {"orders": {"replication_key_value": last}}}})


@pytest.mark.parametrize("parallel_writes", [1, 3])
def test_batches_written_in_parallel_keep_the_last_version_of_a_key(
    tmp_path: Path, mongo_uri: str, mongo_db: Db, parallel_writes: int
) -> None:
    """Pages written in parts of batch_size, several parts at once: every key ends at its last version,
    every file is deleted, and the last state is the last page's."""
    schema = (DATA / "orders.singer").read_text().splitlines()[0]
    lines = [schema]
    for page in range(6):  # every page repeats the previous page's last key with a newer version
        rows = [{"_id": i, "v": page} for i in range(page * 100, page * 100 + 101)]
        lines += [batch_message(tmp_path / f"orders-{page}.jsonl", rows), orders_state(page * 100 + 100)]
    done = run_target(
        tmp_path, mongo_uri, mongo_db.name, "\n".join(lines) + "\n", batch_size_rows=40, parallel_writes=parallel_writes
    )
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob("orders-*.jsonl"))
    stored = {d["_id"]: d["v"] for d in mongo_db["orders"].find()}
    assert len(stored) == 601
    assert all(stored[i] == min(i // 100, 5) for i in stored)  # 100, 200, ... hold the later page's version
    assert stdout_states(done.stdout)[-1]["bookmarks"]["orders"]["replication_key_value"] == 600


@pytest.mark.parametrize("parallel_writes", [1, 2])
def test_a_failed_batch_stops_the_batches_and_states_after_it(
    tmp_path: Path, mongo_uri: str, mongo_db: Db, parallel_writes: int
) -> None:
    mongo_db["orders"].insert_one({"_id": 1, "attributes": {"amount": 7}})
    mongo_db["orders"].create_index([("attributes.amount", ASCENDING)], unique=True, name="one_per_score")
    schema = (DATA / "orders.singer").read_text().splitlines()[0]
    lines = [
        schema,
        batch_message(tmp_path / "orders-1.jsonl", [{"_id": 10, "attributes": {"amount": 1}}]),
        orders_state(10),
        batch_message(tmp_path / "orders-2.jsonl", [{"_id": 20, "attributes": {"amount": 7}}]),
        orders_state(20),
        *[
            line
            for n in range(3, 8)
            for line in (
                batch_message(tmp_path / f"orders-{n}.jsonl", [{"_id": n * 10, "attributes": {}}]),
                orders_state(n * 10),
            )
        ],
    ]
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join(lines) + "\n", parallel_writes=parallel_writes)
    assert done.returncode == 1
    assert last_line(done.stderr).startswith("target-mongo-upsert: error: bulk write to orders failed")
    assert mongo_db["sync_state"].find_one({"_id": "orders"})["last_order_id"] == 10  # type: ignore[index]
    emitted = [s["bookmarks"]["orders"]["replication_key_value"] for s in stdout_states(done.stdout)]
    assert emitted == [10]
    if parallel_writes == 1:  # in sequence nothing after the failure starts; with more writers a page
        # being written at that moment may still land (harmless: no state covers it)
        assert mongo_db["orders"].count_documents({"_id": {"$gte": 30}}) == 0
    assert (tmp_path / "orders-2.jsonl").exists()  # kept: it was never committed


def test_indexes_come_from_the_config_for_one_collection_and_for_every_one(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    indexes = {"orders": ["attributes.customerId"], "*": ["fetched_at"]}
    done = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "orders.singer", indexes=indexes)
    assert done.returncode == 0, done.stderr

    def indexed(name: str) -> set[str]:
        return {key for index in mongo_db[name].index_information().values() for key, _ in index["key"]} - {"_id"}

    assert indexed("orders") == {"attributes.customerId", "fetched_at"}
    assert indexed("customers") == {"fetched_at"}


def test_about_advertises_only_what_the_target_honours() -> None:
    about = json.loads(
        subprocess.run(
            [sys.executable, "-m", "target_mongo_upsert", "--about", "--format", "json"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    assert set(about["capabilities"]) == {
        "about",
        "activate-version",
        "batch",
        "structured-logging",
        "validate-records",
    }
    settings = set(about["settings"]["properties"])
    assert "batch_size_rows" in settings
    assert not settings & {"load_method", "add_record_metadata", "batch_size", "stream_maps", "flattening_enabled"}


def test_batch_files_keep_aside_records_nested_too_deep_read_whichever_way(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    """A file whose records cannot nest too deep is read without measuring each; one that may holds a
    record measured and kept aside, and the stream's later files are measured one by one."""

    schema = (DATA / "orders.singer").read_text().splitlines()[0]
    files = [
        [{"_id": 1, "v": objects(99)}, {"_id": 2, "tags": ["a", 1, None]}],  # 100 levels, the record's own included
        [{"_id": 3, "v": objects(100)}, {"_id": 4, "v": objects(2)}],
        [{"_id": 5, "v": objects(100)}, {"_id": 6, "items": [{"a": [1]}]}],
    ]
    lines = [schema] + [batch_message(tmp_path / f"orders-{n}.jsonl", rows) for n, rows in enumerate(files)]
    done = run_target(tmp_path, mongo_uri, mongo_db.name, "\n".join([*lines, orders_state(6)]) + "\n", run_id="deep")
    assert done.returncode == 0, done.stderr[-2000:]
    stored = {d["_id"]: d for d in mongo_db["orders"].find()}
    assert sorted(stored) == [1, 2, 4, 6]
    assert stored[1]["v"] == objects(99)
    assert stored[6]["items"] == [{"a": [1]}]
    rejected = [(r["reason"], json.loads(r["record"])["_id"]) for r in mongo_db["rejected_records"].find()]
    assert sorted(rejected) == [("nested deeper than 100 levels", 3), ("nested deeper than 100 levels", 5)]
    run = mongo_db["ingestion_runs"].find_one({"_id": "deep"})
    assert run is not None
    assert run["counts"]["orders"]["rejected"] == 2


@pytest.mark.parametrize("way", ["records", "batch file"])
def test_records_bson_cannot_hold_are_kept_aside_and_the_rest_written(
    tmp_path: Path, mongo_uri: str, mongo_db: Db, way: str
) -> None:
    """An integer past 64 bits or a NUL byte in a field name makes pymongo refuse a whole batch; the
    records at fault are kept aside and the batch is written without them, its state saved."""
    rows: list[dict[str, Any]] = [
        {"_id": 1, "v": 2**63},
        {"_id": 2, "v": -(2**63)},
        {"_id": 3, "v": 2**63 - 1},
        {"_id": 4, "x": {"a\u0000b": 1}},
        {"_id": 5, "v": -(2**63) - 1, "w": 10**30},
        {"_id": 6, "v": "a\u0000b"},  # a NUL byte in a value: BSON holds it
    ]
    schema = (DATA / "orders.singer").read_text().splitlines()[0]

    def messages() -> str:  # a batch file is deleted once written: made again for each run
        if way == "records":
            data = [json.dumps({"type": "RECORD", "stream": "orders", "record": row}) for row in rows]
        else:
            data = [batch_message(tmp_path / "orders-1.jsonl", rows)]
        return "\n".join([schema, *data, orders_state(6)]) + "\n"

    done = run_target(tmp_path, mongo_uri, mongo_db.name, messages(), run_id="r")
    assert done.returncode == 0, done.stderr[-2000:]
    stored = {d["_id"]: d for d in mongo_db["orders"].find()}
    assert sorted(stored) == [2, 3, 6]
    assert (stored[2]["v"], stored[3]["v"], stored[6]["v"]) == (-(2**63), 2**63 - 1, "a\u0000b")
    kept = {json.loads(r["record"])["_id"]: r for r in mongo_db["rejected_records"].find()}
    assert sorted(kept) == [1, 4, 5]
    assert json.loads(kept[4]["record"]) == rows[3]  # as received: nothing the writer added
    assert kept[1]["reason"] == "MongoDB cannot store it: MongoDB can only handle up to 8-byte ints"
    assert "NULL byte" in kept[4]["reason"]
    run = mongo_db["ingestion_runs"].find_one({"_id": "r"})
    assert run is not None
    assert run["counts"]["orders"] == {"records": 3, "inserted": 3, "changed": 0, "unchanged": 0, "rejected": 3}
    assert mongo_db["sync_state"].find_one({"_id": "orders"})["last_order_id"] == 6  # type: ignore[index]
    again = run_target(tmp_path, mongo_uri, mongo_db.name, messages())
    assert again.returncode == 0, again.stderr[-2000:]
    assert mongo_db["rejected_records"].count_documents({}) == 3


def test_summary_file_records_success_or_the_error(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    summary = tmp_path / "out.json"
    done = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "orders.singer", summary_path=str(summary))
    assert done.returncode == 0, done.stderr
    assert json.loads(summary.read_text()) == {"error": None, "error_type": None}
    failed = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "missing_key.singer", summary_path=str(summary))
    assert failed.returncode == 1
    assert json.loads(summary.read_text()) == {
        "error": "stream orders: record 2 has no value for key property '_id'",
        "error_type": "RecordKeyError",
    }


def test_records_mongodb_would_refuse_are_kept_aside_and_the_run_goes_on(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    done = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "hostile.singer", run_id="run-h")
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(d["_id"] for d in mongo_db["orders"].find()) == [1, 7]
    rejected = {r["reason"]: json.loads(r["record"]) for r in mongo_db["rejected_records"].find()}
    assert rejected == {
        "its key is dict, not an integer or a string": {"_id": {"oid": 2}, "id": {"oid": 2}, "amount": 6},
        "its key is list, not an integer or a string": {"_id": [3], "id": [3], "amount": 7},
        "top-level field '$set' starts with $": {"_id": 4, "id": 4, "$set": {"amount": 0}},
        "top-level field 'a.b' contains a dot": {"_id": 5, "id": 5, "a.b": 1},
        "nested deeper than 100 levels": rejected.get("nested deeper than 100 levels", {}) | {"_id": 6, "id": 6},
    }
    (run,) = mongo_db["ingestion_runs"].find()
    assert run["counts"]["orders"]["rejected"] == 5
    assert mongo_db["sync_state"].find_one({"_id": "orders"})["last_order_id"] == 7  # type: ignore[index]
    again = run_target(tmp_path, mongo_uri, mongo_db.name, DATA / "hostile.singer", run_id="run-h2")
    assert again.returncode == 0, again.stderr[-2000:]
    assert mongo_db["rejected_records"].count_documents({}) == 5  # the same records are kept once


def test_changes_are_tracked_by_content_and_envelope_fields_never_count(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    schema = {
        "type": "SCHEMA",
        "stream": "orders",
        "schema": {"type": "object", "properties": {}},
        "key_properties": ["id"],
    }

    def run(records: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
        version = int(run_id.removeprefix("r"))  # each run reads a new table version, activated at the end
        lines = [
            json.dumps(schema),
            *(json.dumps({"type": "RECORD", "stream": "orders", "record": r, "version": version}) for r in records),
        ]
        lines.append(json.dumps({"type": "ACTIVATE_VERSION", "stream": "orders", "version": version}))
        done = run_target(
            tmp_path, mongo_uri, mongo_db.name, "\n".join(lines) + "\n", run_id=run_id,
            envelope_fields=["fetched_at", "run"], refreshed_fields=["run"], history=["orders"],
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        counts = (mongo_db["ingestion_runs"].find_one({"_id": run_id}) or {})["counts"]["orders"]
        return {k: counts[k] for k in ("inserted", "changed", "unchanged", "removed")}

    def docs() -> dict[Any, dict[str, Any]]:
        return {d["_id"]: d for d in mongo_db["orders"].find()}

    assert run([{"id": i, "v": i, "fetched_at": "t1", "run": "r1"} for i in (1, 2, 3)], "r1") == {
        "inserted": 3, "changed": 0, "unchanged": 0, "removed": 0}  # fmt: skip
    first = docs()
    assert all(d["first_seen_at"] == d["changed_at"] == d["last_seen_at"] for d in first.values())
    # Only envelope fields differ: unchanged, not rewritten but last_seen_at and `run`.
    assert run([{"id": i, "v": i, "fetched_at": "t2", "run": "r2"} for i in (1, 2, 3)], "r2") == {
        "inserted": 0, "changed": 0, "unchanged": 3, "removed": 0}  # fmt: skip
    second = docs()
    assert {d["fetched_at"] for d in second.values()} == {"t1"}
    assert {d["run"] for d in second.values()} == {"r2"}
    assert all(second[k]["changed_at"] == first[k]["changed_at"] for k in first)
    # 2 changes (and drops a field), 3 leaves, 4 arrives.
    assert run([{"id": 1, "v": 1, "fetched_at": "t3", "run": "r3"}, {"id": 2, "fetched_at": "t3", "run": "r3"},
                {"id": 4, "v": 4, "fetched_at": "t3", "run": "r3"}], "r3") == {
        "inserted": 1, "changed": 1, "unchanged": 1, "removed": 1}  # fmt: skip
    third = docs()
    assert "v" not in third[2]
    assert third[2]["changed_at"] > first[2]["changed_at"]
    assert third[2]["first_seen_at"] == first[2]["first_seen_at"]
    assert third[3]["removed_at"] is not None  # nothing is deleted
    assert all("removed_at" not in third[k] for k in (1, 2, 4))
    # 3 comes back: removed_at unset.
    assert run([{"id": i, "v": i, "fetched_at": "t4", "run": "r4"} for i in (1, 3, 4)] + [
        {"id": 2, "fetched_at": "t4", "run": "r4"}], "r4") == {
        "inserted": 0, "changed": 1, "unchanged": 3, "removed": 0}  # fmt: skip
    assert "removed_at" not in docs()[3]
    # The history: one version per key and content, closed by the next version or the removal.
    versions = sorted(mongo_db["orders_history"].find(), key=lambda v: (v["key"], v["valid_from"]))
    by_key: dict[Any, list[dict[str, Any]]] = {}
    for version in versions:
        by_key.setdefault(version["key"], []).append(version)
    assert [len(by_key[k]) for k in (1, 2, 3, 4)] == [1, 2, 2, 1]
    assert by_key[2][0]["valid_to"] == by_key[2][1]["valid_from"]
    assert by_key[3][0]["valid_to"] is not None  # closed by the removal
    assert [v["valid_to"] for v in (by_key[1][-1], by_key[2][-1], by_key[3][-1], by_key[4][-1])] == [None] * 4
