"""The marts end to end: `peakon-ingest ingest` builds them, `marts` rebuilds them, `export` writes
them; every mart equals the plain computation over the stored documents (read with `find`)."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.state import MANAGER_FIELDS
from peakon_simulator.testing import SimulatorFactory, control
from pymongo.database import Database

from peakon_ingest.marts import store
from peakon_ingest.marts.answers import FIELDS
from peakon_ingest.marts.options import NAMES, PREFIX
from tests.cli.helpers import cli_env, run_cli
from tests.marts.checks import compare

Db = Database[dict[str, Any]]
SEGMENTS = ("Department", "Sub-Department")


def stored(db: Db) -> dict[str, Any]:
    """What the marts are built from, read plainly."""
    return {
        "employees": list(db["employees"].find()),
        "history": list(db["employees_history"].find()),
        "answers": [doc["attributes"] for doc in db["answers_export"].find({}, {"attributes": 1})],
        "catalog": {str(d["_id"]): (d["Driver"], d["SubDriver"]) for d in db["drivers_catalog"].find()},
    }


def marts(db: Db) -> dict[str, list[dict[str, Any]]]:
    return {
        name: list(db[PREFIX + name].find({}, None if name in {"org", "release"} else {"_id": 0})) for name in NAMES
    }


def ingest(sim: SimulatorThread, mongo_uri: str, db: Db, cwd: Path, **extra: str) -> dict[str, Any]:
    done = run_cli(["ingest"], cli_env(sim, mongo_uri, db.name, **extra), cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    run = db["ingestion_runs"].find_one(sort=[("started_at", -1)])
    assert run is not None
    return run


@pytest.mark.parametrize("manager_field", MANAGER_FIELDS)
def test_marts_after_a_week_of_change_equal_the_plain_computation(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, manager_field: str
) -> None:
    # Answers over three months; every 40th with its score as text and no question text.
    sim = make_simulator(
        answers=3000, employees=250, manager_field=manager_field, minutes_per_response=700, odd_answers_every=40
    )
    # Released months never change: the first build releases nothing (its grace is not over), so the
    # second releases every month over the history the week of change made.
    first = ingest(sim, mongo_uri, mongo_db, tmp_path, PEAKON_RELEASE_GRACE_DAYS="36500")
    assert (first["marts"]["released"], first["marts"]["manager_question"]["rows"]) == ([], 0)
    sim.state.churn(change=25, remove=8, add=12)
    sim.state.append_answers(600)
    run = ingest(sim, mongo_uri, mongo_db, tmp_path)
    built = marts(mongo_db)
    source = stored(mongo_db)
    compare(built, source["employees"], source["history"], source["answers"], source["catalog"], 5, SEGMENTS)
    assert len({row["month"] for row in built["manager_question"]}) >= 3
    figures = [name for name in built if name != "release"]
    assert {name: run["marts"][name]["rows"] for name in figures} == {name: len(built[name]) for name in figures}
    assert sorted(doc["_id"] for doc in built["release"]) == sorted({row["month"] for row in built["participation"]})
    assert {row["complete"] for row in built["manager_question"]} == {True, False}  # small teams exist, left out
    orphans = [row for row in built["org"] if row["orphan"]]
    assert orphans
    assert all(row["chain"] == [] for row in orphans)
    assert max(row["depth"] for row in built["org"]) >= 4
    # Nothing written by a person ever reaches a mart.
    text = json.dumps(built, default=str)
    assert "answerComment" not in text
    assert "More clarity on priorities" not in text


def test_the_weekly_read_gets_every_answer_answered_from_its_month_whatever_its_id(mongo_db: Db) -> None:
    """The weekly read takes answers by when they were answered, never by `_id` (the embedded server
    sorts integer `_id`s as text, and an answer may arrive with an `_id` below older ones): text from
    the month on, however long, and nothing that is not text."""
    answered = {5: "2026-11-30T23:59:59Z", 42: "2026-10-31T23:59:59+00:00", 99: "2026-11", 100: "2026-11-01",
                1000: "2027-01-01T00:00:00-05:00", 100000: "2026-1", 7: None, 8: 20261101}  # fmt: skip
    mongo_db["answers_export"].insert_many(
        {"_id": i, "attributes": {"responseAnsweredAt": when}} for i, when in answered.items()
    )
    assert sorted(row["_id"] for row in store.answered_since(mongo_db, "2026-11")) == [5, 99, 100, 1000]
    assert sorted(row["_id"] for row in store.answered_since(mongo_db, "2026-12")) == [1000]


def test_the_staff_stamp_moves_with_every_change_the_target_writes_and_only_then(
    make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, tmp_path: Path
) -> None:
    """The marts rebuild mart_org when the stamp moves; it is read from indexes, so it must move with
    each kind of change the target writes (a change, a leaver, a joiner) and not with a rerun."""
    sim = make_simulator(answers=200, employees=60)
    stamps = []
    for week in ({}, {}, {"change": 1}, {"remove": 1}, {"add": 1}):
        if week:
            control(sim, "POST", "churn", week)
        ingest(sim, mongo_uri, mongo_db, tmp_path, PEAKON_BUILD_MARTS="false")
        stamps.append(store.staff_stamp(mongo_db))
    assert stamps[0] == stamps[1]
    assert len(set(stamps[1:])) == 4


def test_the_fast_read_of_answers_equals_a_find(
    make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, tmp_path: Path
) -> None:
    """The marts read answers with a `$project` (a plain projection, faster than `find` on the
    embedded server); on whatever server the tests run against, it returns what `find` does, odd
    answers (a score as text, a missing field) included."""
    ingest(make_simulator(odd_answers_every=7), mongo_uri, mongo_db, tmp_path, PEAKON_BUILD_MARTS="false")
    fast = list(store.answers(mongo_db))
    newest = list(store.answered_since(mongo_db, "0000-01"))  # the weekly read: the same, for text dates
    same = [{**row, "_id": int(row["_id"])} for row in fast if isinstance(row.get("responseAnsweredAt"), str)]
    assert sorted(json.dumps({k: v for k, v in r.items() if k != "removed_at"}, sort_keys=True) for r in newest) == (
        sorted(json.dumps({k: v for k, v in r.items() if k != "removed_at"}, sort_keys=True) for r in same)
    )
    plain = [
        {name: doc["attributes"][name] for name in FIELDS if name in doc["attributes"]}
        for doc in mongo_db["answers_export"].find({}, {"attributes": 1}).sort("_id", 1)
    ]
    assert len(fast) == len(plain) == 2500
    as_set = sorted(
        json.dumps({k: v for k, v in row.items() if k not in {"_id", "removed_at"}}, sort_keys=True) for row in fast
    )
    assert as_set == sorted(json.dumps(row, sort_keys=True) for row in plain)
    assert not [n for n in mongo_db.list_collection_names() if n.startswith(PREFIX)]  # PEAKON_BUILD_MARTS=false


def test_export_writes_each_format_and_a_range_under_the_same_rules(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db
) -> None:
    sim = make_simulator(answers=3000, employees=250, minutes_per_response=700)
    ingest(sim, mongo_uri, mongo_db, tmp_path)
    env = cli_env(sim, mongo_uri, mongo_db.name)
    stored_rows = marts(mongo_db)["manager_question"]
    done = run_cli(["export", "manager_question", "--out", str(tmp_path / "mq.csv")], env, tmp_path)
    assert done.returncode == 0, done.stderr
    csv = pl.read_csv(tmp_path / "mq.csv")
    assert csv.height == len(stored_rows)
    assert "manager_id" in csv.columns
    done = run_cli(["export", "mart_driver_segment", "--format", "jsonl"], env, tmp_path)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(map(json.dumps, lines)) == sorted(json.dumps(r) for r in marts(mongo_db)["driver_segment"])
    done = run_cli(["export", "org", "--format", "parquet", "--out", str(tmp_path / "org.parquet")], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert pl.read_parquet(tmp_path / "org.parquet").height == 250
    # A range: each group's released monthly rows summed (test_release_calendar checks the sums).
    months = sorted({row["month"] for row in stored_rows})
    first, last = months[0], months[-2]
    for name in ("manager_question", "driver_segment"):
        done = run_cli(["export", name, "--from", first, "--to", last, "--format", "jsonl"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        ranged = [json.loads(line) for line in done.stdout.splitlines()]
        assert {row["month"] for row in ranged} == {f"{first}..{last}"}
        assert {row["respondents"] for row in ranged} == {None}


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["marts"], {"PEAKON_MIN_RESPONDENTS": "2"}, "PEAKON_MIN_RESPONDENTS: expected at least 3"),
        (["marts"], {"PEAKON_MART_SEGMENTS": "Department,,Team"}, "PEAKON_MART_SEGMENTS: expected distinct"),
        (["export", "answers"], {}, "MART: unknown mart 'answers'"),
        (["export", "manager_question", "--from", "2024-13"], {}, "--from: expected a month as YYYY-MM"),
        (["export", "manager_question", "--from", "2024-05", "--to", "2024-02"], {}, "--from 2024-05 is after --to"),
        (["export", "org", "--from", "2024-01"], {}, "--from/--to: only manager_question and driver_segment"),
        (["export", "org", "--format", "xlsx"], {}, "--format: expected one of csv, parquet, jsonl"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(
    tmp_path: Path, mongo_uri: str, args: list[str], extra: dict[str, str], message: str
) -> None:
    done = run_cli(args, cli_env(None, mongo_uri, "unused", **extra), tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"peakon-ingest: error: {message}"), done.stderr
    assert done.stderr.count("\n") == 1


def test_a_reader_never_sees_a_half_built_mart(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    ingest(simulator, mongo_uri, mongo_db, tmp_path, PEAKON_BUILD_MARTS="false")
    before = 0  # nothing released yet: the build releases every month at once
    seen: list[int] = []
    done_event = threading.Event()

    def read() -> None:
        while not done_event.is_set():
            seen.append(len(list(mongo_db[PREFIX + "manager_question"].find({}, {"_id": 1}))))

    reader = threading.Thread(target=read)
    reader.start()
    try:  # a partial mart would show as a count between none and all
        done = run_cli(["marts"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    finally:
        done_event.set()
        reader.join()
    assert done.returncode == 0, done.stderr
    after = mongo_db[PREFIX + "manager_question"].count_documents({})
    assert after > 0
    assert set(seen) <= {before, after}, sorted(set(seen))
    run = mongo_db["ingestion_runs"].find_one({"mode": "marts"})
    assert run is not None
    assert (run["status"], run["marts"]["manager_question"]["rows"]) == ("success", after)


def test_a_rebuild_with_nothing_new_gives_the_same_marts(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    ingest(simulator, mongo_uri, mongo_db, tmp_path)
    first = marts(mongo_db)
    done = run_cli(["marts"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "mart_manager_question" in done.stdout
    again = marts(mongo_db)
    for name, rows in first.items():
        assert sorted(map(repr, rows)) == sorted(map(repr, again[name])), name


def test_the_csv_for_managers_has_no_list_it_cannot_hold(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    ingest(simulator, mongo_uri, mongo_db, tmp_path)
    done = run_cli(["export", "org"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    frame = pl.read_csv(io.StringIO(done.stdout))
    chains = [json.loads(text) for text in frame["chain"].to_list()]
    assert any(len(chain) >= 3 for chain in chains)


def test_marts_of_an_empty_database_build_and_rebuild(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    """Nothing ingested yet (or only drivers): every mart exists, empty, build after build."""
    for _ in range(2):
        done = run_cli(["marts"], cli_env(None, mongo_uri, mongo_db.name), tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        assert {name: len(rows) for name, rows in marts(mongo_db).items()} == dict.fromkeys(NAMES, 0)
    assert not [name for name in mongo_db.list_collection_names() if name.startswith(store.STAGING)]
