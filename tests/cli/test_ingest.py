"""`peakon-ingest ingest` end to end: real processes, the simulator and MongoDB."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory, control
from pymongo.database import Database

from tests.cli.helpers import cli_env, run_cli, start_cli, wait_for_documents

Db = Database[dict[str, Any]]
STREAMS = ("answers_export", "employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog")
EXPECTED = {"answers_export": 2500, "employees": 250, "drivers": 18, "scores_contexts": 68, "scores_by_driver": 68,
            "drivers_catalog": 17}  # fmt: skip


def counts(db: Db) -> dict[str, int]:
    return {name: db[name].count_documents({}) for name in STREAMS}


def runs(db: Db) -> list[dict[str, Any]]:
    return list(db["ingestion_runs"].find().sort("started_at", 1))


def test_ingest_fills_every_collection_and_records_the_run(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    done = run_cli(["ingest"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert counts(mongo_db) == EXPECTED
    (run,) = runs(mongo_db)
    assert run["status"] == "success"
    assert run["error"] is None
    assert run["counts"]["answers_export"] == {  # a first run reads the answers whole: versioned, removals counted
        "records": 2500, "inserted": 2500, "changed": 0, "unchanged": 0, "rejected": 0, "removed": 0,
    }  # fmt: skip
    assert run["counts"]["employees"] == {
        "records": 250, "inserted": 250, "changed": 0, "unchanged": 0, "rejected": 0, "removed": 0,
    }  # fmt: skip
    assert run["requests"] == len(control(simulator, "GET", "requests")["requests"])
    assert run["skipped_drivers"] == 17
    assert run["duration_seconds"] > 0
    assert {d["run_id"] for d in mongo_db["answers_export"].find({}, {"run_id": 1})} == {run["_id"]}
    assert "answers_export" in done.stdout  # the table of inserted/updated per collection
    assert "answers_export page 3: 500 records" in done.stderr  # progress per page


def test_second_run_adds_nothing_and_fetches_only_new_answers(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name)
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    control(simulator, "DELETE", "requests")
    again = run_cli(["ingest"], env, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    # As few requests as the API allows: one export page, one employees page and the count, the
    # drivers, the context scores and one per driver; the stored bearer token is reused, no exchange.
    paths = Counter(r["path"].removeprefix("/api/v1") for r in control(simulator, "GET", "requests")["requests"])
    assert paths["/answers/export"] == paths["/employees"] == paths["/engagement/drivers"] == 1
    assert paths["/employees/count"] == 1  # for the completeness check
    assert sum(n for path, n in paths.items() if path.startswith("/scores/")) == 1 + 18
    assert sum(paths.values()) == 23
    assert counts(mongo_db) == EXPECTED
    second = runs(mongo_db)[-1]
    assert "answers_export" not in second["counts"]  # the bookmark meant nothing new was asked for
    for name, c in second["counts"].items():  # every document unchanged, none rewritten
        assert (c["inserted"], c["changed"], c["removed"]) == (0, 0, 0), name
        assert c["unchanged"] == c["records"] == EXPECTED[name], name

    control(simulator, "POST", "answers", {"count": 77})
    third = run_cli(["ingest"], env, tmp_path)
    assert third.returncode == 0
    assert counts(mongo_db) == {**EXPECTED, "answers_export": 2577}
    assert runs(mongo_db)[-1]["counts"]["answers_export"]["inserted"] == 77


def test_full_sync_refetches_everything_without_duplicates(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name)
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    full = run_cli(["ingest", "--full-sync"], env, tmp_path)
    assert full.returncode == 0, full.stderr[-3000:]
    assert counts(mongo_db) == EXPECTED
    run = runs(mongo_db)[-1]
    assert run["mode"] == "full"
    assert run["counts"]["answers_export"] == {  # a whole read: versioned, removals counted
        "records": 2500, "inserted": 0, "changed": 0, "unchanged": 2500, "rejected": 0, "removed": 0,
    }  # fmt: skip


def test_dry_run_writes_nothing(tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db) -> None:
    done = run_cli(["ingest", "--dry-run"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert mongo_db.list_collection_names() == []
    assert "2500" in done.stdout  # answers_export's count in the table


def test_streams_option_limits_the_run(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    done = run_cli(["ingest", "--streams", "drivers,employees"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {n: c for n, c in counts(mongo_db).items() if c} == {"drivers": 18, "employees": 250}


def test_failed_run_is_recorded_with_its_error(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    control(simulator, "POST", "faults", {"kind": "status", "status": 500, "times": -1, "path": "/answers/export"})
    env = cli_env(simulator, mongo_uri, mongo_db.name, PEAKON_MAX_RETRIES="2")
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 1
    (run,) = runs(mongo_db)
    assert run["status"] == "failure"
    assert run["error"] == "HTTP 500 from /api/v1/answers/export"
    assert run["retries"] == 2
    assert (
        done.stderr.strip().splitlines()[-1] == "peakon-ingest: error: run failed: HTTP 500 from /api/v1/answers/export"
    )


def test_an_unreachable_api_is_retried_then_named_by_our_variable(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db
) -> None:
    gone = make_simulator()
    env = cli_env(gone, mongo_uri, mongo_db.name, PEAKON_MAX_RETRIES="1", PEAKON_BACKOFF_BASE_SECONDS="0.01")
    gone.stop()
    done = run_cli(["ingest", "--streams", "drivers"], env, tmp_path)
    assert done.returncode == 1
    (run,) = runs(mongo_db)
    host = gone.root.removeprefix("http://")
    error = f"unreachable after 2 tries: {host}: connection refused (check PEAKON_BASE_URL)"
    assert run["error"] == error
    assert run["retries"] == 1
    assert done.stderr.strip().splitlines()[-1] == f"peakon-ingest: error: run failed: {error}"


def test_stored_bearer_token_is_reused_and_replaced_after_401(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name)
    assert run_cli(["ingest", "--streams", "drivers"], env, tmp_path).returncode == 0
    (stored,) = mongo_db["auth_tokens"].find()
    assert stored["_id"] == f"{simulator.base_url}::application"

    before = len(control(simulator, "GET", "requests")["requests"])
    assert run_cli(["ingest", "--streams", "drivers"], env, tmp_path).returncode == 0
    second_log = control(simulator, "GET", "requests")["requests"][before:]
    assert [r["path"] for r in second_log if r["path"].endswith("/auth/application")] == []  # reused

    simulator.state._tokens.clear()  # the server forgets every token, as after an expiry
    assert run_cli(["ingest", "--streams", "drivers"], env, tmp_path).returncode == 0
    (renewed,) = mongo_db["auth_tokens"].find()
    assert renewed["bearer_token_encrypted"] != stored["bearer_token_encrypted"]


def test_the_stored_bearer_token_is_useless_to_a_database_reader(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name)
    assert run_cli(["ingest", "--streams", "drivers"], env, tmp_path).returncode == 0
    (stored,) = mongo_db["auth_tokens"].find()
    issued = list(simulator.state._tokens)  # every bearer token the server handed out
    assert issued
    assert not any(token in json.dumps(stored, default=str) for token in issued)  # not in clear
    assert set(stored) == {"_id", "bearer_token_encrypted", "obtained_at"}

    # Under another application token it does not decrypt: that run simply exchanges its own.
    other = {**env, "PEAKON_APP_TOKEN": "another-app-token"}
    simulator.state.app_token = "another-app-token"
    before = len(control(simulator, "GET", "requests")["requests"])
    done = run_cli(["ingest", "--streams", "drivers"], other, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    log = control(simulator, "GET", "requests")["requests"][before:]
    assert [r["status"] for r in log if r["path"].endswith("/auth/application")] == [200]
    assert all(r["status"] != 401 for r in log)  # the stored token was never tried

    # A tampered document is no better: exchanged again, and the run succeeds.
    mongo_db["auth_tokens"].update_one({}, {"$set": {"bearer_token_encrypted": "gAAAAAB-tampered"}})
    assert run_cli(["ingest", "--streams", "drivers"], other, tmp_path).returncode == 0


def test_a_second_ingest_refuses_while_the_lock_is_held(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    mongo_db["locks"].insert_one(
        {"_id": "ingest", "owner": "other-run", "host": "elsewhere", "pid": 1, "expires_at": time.time() + 600,
         "expires_at_utc": "2099-01-01T00:00:00+00:00"}
    )  # fmt: skip
    done = run_cli(["ingest"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("peakon-ingest: error: another ingest is running (run other-run on elsewhere, pid 1)")
    )
    assert counts(mongo_db)["answers_export"] == 0


@pytest.mark.parametrize("namespace", ["this one", "another"])
def test_a_dead_holder_is_trusted_gone_only_within_its_own_pid_namespace(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db, namespace: str
) -> None:
    """A live lock whose holder's pid runs nothing here: on this host and in this pid namespace the
    holder died (taken over at once); in another one (a container on host networking, same host
    name) that pid says nothing about the holder, so the lock holds until it expires."""
    gone = subprocess.Popen(["true"])  # its pid, once reaped, runs nothing
    gone.wait()
    here = str(Path("/proc/self/ns/pid").readlink())
    mongo_db["locks"].insert_one(
        {"_id": "ingest", "owner": "other-run", "host": socket.gethostname(), "pid": gone.pid,
         "pid_namespace": here if namespace == "this one" else "pid:[1]", "expires_at": time.time() + 600,
         "expires_at_utc": "2099-01-01T00:00:00+00:00"}
    )  # fmt: skip
    done = run_cli(["ingest", "--streams", "drivers"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    if namespace == "this one":
        assert done.returncode == 0, done.stderr[-3000:]
        assert mongo_db["locks"].count_documents({}) == 0
    else:
        assert done.returncode == 1
        assert "another ingest is running (run other-run" in done.stderr
        assert mongo_db["locks"].find_one({"_id": "ingest"})["owner"] == "other-run"  # type: ignore[index]


def test_an_expired_lock_is_taken_over_and_its_run_marked_abandoned(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    mongo_db["ingestion_runs"].insert_one({"_id": "crashed", "status": "running", "counts": {}})
    mongo_db["locks"].insert_one({"_id": "ingest", "owner": "crashed", "expires_at": time.time() - 1})
    done = run_cli(["ingest", "--streams", "drivers"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert mongo_db["ingestion_runs"].find_one({"_id": "crashed"})["status"] == "abandoned"  # type: ignore[index]
    assert mongo_db["locks"].count_documents({}) == 0


def test_sigterm_stops_after_the_current_page_and_marks_the_run_interrupted(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db
) -> None:
    sim = make_simulator(answers=20_000)
    control(sim, "POST", "faults", {"kind": "slow", "delay": 0.4, "times": -1, "path": "/answers/export"})
    process = start_cli(["ingest", "--streams", "answers_export"], cli_env(sim, mongo_uri, mongo_db.name), tmp_path)
    wait_for_documents(mongo_db["answers_export"], 2000, timeout=60)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr[-3000:]
    (run,) = runs(mongo_db)
    assert (run["status"], run["error"]) == ("interrupted", "interrupted")
    written = mongo_db["answers_export"].count_documents({})
    assert 2000 <= written < 20_000
    bookmark = mongo_db["sync_state"].find_one({"_id": "answers_export"})
    assert bookmark is not None
    # The bookmark is never ahead of the data: everything up to it is stored.
    assert mongo_db["answers_export"].count_documents({"_id": {"$lte": bookmark["last_answer_id"]}}) == written


def test_json_logs_are_one_object_per_line_and_the_run_record_keeps_requests_and_retries(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    control(simulator, "POST", "faults", {"kind": "status", "status": 503, "times": 2, "path": "/answers/export"})
    done = run_cli(["ingest"], cli_env(simulator, mongo_uri, mongo_db.name, LOG_FORMAT="json"), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # each line one JSON object
    assert all(isinstance(line, dict) and {"time", "level", "message"} <= set(line) for line in lines)
    assert {line.get("child") for line in lines} >= {"tap", "target"}  # the children's lines too
    assert any(line.get("child") == "tap" and "answers_export page 3" in line["message"] for line in lines)
    (run,) = runs(mongo_db)
    assert run["requests"] == len(control(simulator, "GET", "requests")["requests"])
    assert run["retries"] == 2
    assert run["counts"]["answers_export"]["records"] == 2500
    assert done.stdout == ""  # no table: the outcome is a log line
    assert lines[-1]["counts"]["answers_export"]["records"] == 2500


def test_a_week_of_change_is_counted_marked_and_kept_in_the_history(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name)
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    week = control(simulator, "POST", "churn", {"change": 12, "remove": 5, "add": 7})
    control(simulator, "POST", "answers", {"count": 100})
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    run = runs(mongo_db)[-1]
    assert run["counts"]["employees"] == {
        "records": 252, "inserted": 7, "changed": 12, "unchanged": 233, "removed": 5, "rejected": 0,
    }  # fmt: skip
    assert run["counts"]["answers_export"]["inserted"] == 100
    assert "removed" not in run["counts"]["answers_export"]  # answers are never marked removed
    employees = {d["_id"]: d for d in mongo_db["employees"].find()}
    assert len(employees) == 257  # nothing deleted
    assert {k for k, d in employees.items() if d.get("removed_at")} == set(week["removed"])
    history = list(mongo_db["employees_history"].find())
    versions: dict[Any, list[dict[str, Any]]] = {}
    for version in sorted(history, key=lambda v: v["valid_from"]):
        versions.setdefault(version["key"], []).append(version)
    for key in week["changed"]:
        old, new = versions[key]
        assert old["valid_to"] == new["valid_from"]
        assert new["valid_to"] is None
        assert old["record"]["attributes"] != new["record"]["attributes"]
    for key in week["removed"]:
        (only,) = versions[key]
        assert only["valid_to"] is not None
    for key in week["added"]:
        (only,) = versions[key]
        assert only["valid_to"] is None

    # A run that did not read employees whole marks nothing.
    more = control(simulator, "POST", "churn", {"remove": 3})
    assert run_cli(["ingest", "--streams", "answers_export"], env, tmp_path).returncode == 0
    assert mongo_db["employees"].count_documents({"_id": {"$in": more["removed"]}, "removed_at": None}) == 3


def test_completeness_and_schema_drift_are_recorded_as_warnings(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name)
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    (run,) = runs(mongo_db)
    assert run["completeness"] == {
        "employees": {"expected": 250, "stored": 250, "ok": True},
        "answers_export": {"reached": simulator.state.answer_summary()["max_answer_id"],
                           "stored": simulator.state.answer_summary()["max_answer_id"], "ok": True},
    }  # fmt: skip
    assert run["schema_drift"] == {}

    # Peakon says there are 3 more employees than it served, and adds a field nobody described.
    control(simulator, "POST", "switches", {"employees_count_offset": 3, "extra_field": "moodEmoji"})
    control(simulator, "POST", "answers", {"count": 40})
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]  # a warning, not a failure
    run = runs(mongo_db)[-1]
    assert run["completeness"]["employees"] == {"expected": 253, "stored": 250, "ok": False}
    assert run["completeness"]["answers_export"]["ok"] is True
    assert run["schema_drift"] == {"answers_export": {"attributes.moodEmoji": 40}}
    assert done.stderr.count("moodEmoji") == 1  # logged once per run
    assert "completeness: employees: Peakon counts 253, 250 stored" in done.stderr
    status = run_cli(["status"], env, tmp_path)
    assert "incomplete: employees" in status.stdout
