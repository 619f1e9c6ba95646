"""Each run either completes correctly or fails clearly, and the next run repairs it."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import control
from pymongo.database import Database

from tests.cli.helpers import cli_env, run_cli, start_cli
from tests.reliability.checks import Snapshot, assert_bookmark_not_ahead, assert_repaired
from tests.reliability.conftest import Scenario

Db = Database[dict[str, Any]]


def env_for(sim: SimulatorThread, mongo_uri: str, db: Db, **extra: str) -> dict[str, str]:
    return cli_env(sim, mongo_uri, db.name, PEAKON_PER_PAGE="500", PEAKON_MAX_RETRIES="4", **extra)


def last_run(db: Db) -> dict[str, Any]:
    runs = list(db["ingestion_runs"].find().sort("started_at", -1).limit(1))
    assert runs, "no run recorded"
    return runs[0]


def follow_up(tmp_path: Path, sim: SimulatorThread, mongo_uri: str, db: Db, reference: Snapshot) -> None:
    """The next, fault-free run succeeds and leaves the collections of a clean run."""
    control(sim, "DELETE", "faults")
    control(sim, "POST", "switches", {"token_max_requests": None, "rate_limit_per_hour": 100_000})
    done = run_cli(["ingest"], env_for(sim, mongo_uri, db), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert last_run(db)["status"] == "success"
    assert_repaired(db, reference)


def wait_for_answers(db: Db, at_least: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while db["answers_export"].count_documents({}) < at_least:
        assert time.monotonic() < deadline, "the run wrote too little in time"
        time.sleep(0.1)


def child(process: psutil.Process, marker: str) -> psutil.Process:
    for proc in process.children(recursive=True):
        if marker in " ".join(proc.cmdline()):
            return proc
    raise AssertionError(f"no {marker} process")


# -- processes killed ------------------------------------------------------------------------------
@pytest.mark.parametrize("victim", ["tap_peakon", "target_mongo_upsert"])
def test_kill_9_of_tap_or_target(
    tmp_path: Path, sim: SimulatorThread, mongo_uri: str, mongo_db: Db, reference: Snapshot, scenario: Scenario,
    victim: str,
) -> None:  # fmt: skip
    control(sim, "POST", "faults", {"kind": "slow", "delay": 0.3, "times": -1, "path": "/answers/export"})
    process = start_cli(["ingest"], env_for(sim, mongo_uri, mongo_db), tmp_path)
    wait_for_answers(mongo_db, 1000)
    child(psutil.Process(process.pid), victim).send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr[-2000:]
    run = last_run(mongo_db)
    assert run["status"] == "failure"
    assert run["error"]
    assert_bookmark_not_ahead(mongo_db)
    follow_up(tmp_path, sim, mongo_uri, mongo_db, reference)
    scenario.name = f"kill -9 of the {victim.split('_', maxsplit=1)[0]} mid-run"
    scenario.happened = f"exit 1; run `failure` ({run['error'][:80]}); bookmark behind the data"
    scenario.proof = "follow-up run equals a clean run; bookmark check against the simulator's ids"


def test_kill_9_of_peakon_ingest(
    tmp_path: Path, sim: SimulatorThread, mongo_uri: str, mongo_db: Db, reference: Snapshot, scenario: Scenario
) -> None:
    control(sim, "POST", "faults", {"kind": "slow", "delay": 0.3, "times": -1, "path": "/answers/export"})
    process = start_cli(["ingest"], env_for(sim, mongo_uri, mongo_db), tmp_path)
    wait_for_answers(mongo_db, 1000)
    children = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    psutil.wait_procs(children, timeout=60)  # the kernel told them (SIGTERM): they save state and stop
    assert all(not c.is_running() for c in children)
    killed = last_run(mongo_db)
    assert killed["status"] == "running"
    assert_bookmark_not_ahead(mongo_db)
    follow_up(tmp_path, sim, mongo_uri, mongo_db, reference)  # takes over the dead holder's lock at once
    assert mongo_db["ingestion_runs"].find_one({"_id": killed["_id"]})["status"] == "abandoned"  # type: ignore[index]
    scenario.name = "kill -9 of peakon-ingest mid-run"
    scenario.happened = (
        "tap and target get SIGTERM from the kernel and stop; the next run takes the lock and marks the run `abandoned`"
    )
    scenario.proof = "no child survives; abandoned status; follow-up run equals a clean run"


def test_mongodb_stopped_mid_run_and_started_again(
    tmp_path: Path, sim: SimulatorThread, reference: Snapshot, scenario: Scenario
) -> None:
    import os  # noqa: PLC0415

    from peakon_simulator.embedded_mongo import EmbeddedMongo  # noqa: PLC0415
    from pymongo import MongoClient  # noqa: PLC0415

    if os.environ.get("MONGO_TEST_URI"):
        pytest.skip("needs a MongoDB the test can stop and start: the embedded one")
    server = EmbeddedMongo(data_dir=tmp_path / "data")
    server.start()
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(server.uri, serverSelectionTimeoutMS=3000)
        db = client["restart"]
        control(sim, "POST", "faults", {"kind": "slow", "delay": 0.3, "times": -1, "path": "/answers/export"})
        process = start_cli(["ingest"], env_for(sim, server.uri, db, MONGO_TIMEOUT_SECONDS="2"), tmp_path)
        wait_for_answers(db, 1000)
        server.stop()
        time.sleep(3)
        server.start()
        _, stderr = process.communicate(timeout=240)
        run = last_run(db)
        assert (process.returncode, run["status"]) in {(0, "success"), (1, "failure")}, stderr[-2000:]
        assert_bookmark_not_ahead(db)
        follow_up(tmp_path, sim, server.uri, db, reference)
    finally:
        server.stop()
    scenario.name = "MongoDB stopped mid-run for 3 s, then started again"
    scenario.happened = f"the target retried its batch with backoff; run `{run['status']}`, exit {process.returncode}"
    scenario.proof = "follow-up run equals a clean run; bookmark check"


# -- faults from the simulator ---------------------------------------------------------------------
FAULTS: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any]]] = {
    "429 storm with Retry-After": (
        "answers",
        [{"kind": "status", "status": 429, "retry_after": 1, "times": 3, "skip": 2}],
        {},
    ),
    "429 storm without Retry-After": ("answers", [{"kind": "status", "status": 429, "times": 3, "skip": 2}], {}),
    "5xx burst (500, 502, 503)": (
        "answers",
        [{"kind": "status", "status": s, "times": 1, "skip": 3} for s in (500, 502, 503)],
        {},
    ),
    "5xx until retries run out": ("answers", [{"kind": "status", "status": 503, "times": -1, "skip": 3}], {}),
    "connection resets": ("answers", [{"kind": "reset", "times": 2, "skip": 2}], {}),
    "token expiry during pagination": ("answers", [], {"token_max_requests": 4}),
    "truncated JSON page": ("answers", [{"kind": "truncate", "times": 1, "skip": 2}], {}),
    "links.next loop": ("answers", [{"kind": "loop", "times": 1, "skip": 2}], {}),
    "responses slower than the timeout": ("answers", [{"kind": "slow", "delay": 2.5, "times": 1, "skip": 2}], {}),
    "hourly rate limit reached": ("any", [], {"rate_limit_per_hour": 10}),
}
CLEAR_ERRORS = ("HTTP 503 from /api/v1/answers/export", "pagination loop: links.next of", "HTTP 429 from")


@pytest.mark.parametrize("name", list(FAULTS))
def test_simulator_fault(
    tmp_path: Path, sim: SimulatorThread, mongo_uri: str, mongo_db: Db, reference: Snapshot, scenario: Scenario,
    name: str,
) -> None:  # fmt: skip
    where, faults, switches = FAULTS[name]
    for rule in faults:
        control(sim, "POST", "faults", {**rule, "path": "/answers/export" if where == "answers" else ""})
    if switches:
        control(sim, "POST", "switches", switches)
    extra = {"HTTP_TIMEOUT_SECONDS": "1"} if "slower" in name else {}
    done = run_cli(["ingest"], env_for(sim, mongo_uri, mongo_db, **extra), tmp_path)
    run = last_run(mongo_db)
    if done.returncode == 0:
        assert run["status"] == "success"
        happened = f"recovered: run `success` after {run['retries']} retries"
    else:
        assert done.returncode == 1
        assert run["status"] == "failure"
        assert run["error"].startswith(CLEAR_ERRORS), run["error"]
        assert done.stderr.strip().splitlines()[-1] == f"peakon-ingest: error: run failed: {run['error']}"
        happened = f"failed clearly: `{run['error'][:90]}`"
    assert_bookmark_not_ahead(mongo_db)
    follow_up(tmp_path, sim, mongo_uri, mongo_db, reference)
    scenario.name = name
    scenario.happened = happened
    scenario.proof = "follow-up run equals a clean run; bookmark check"


def test_two_ingests_at_once(
    tmp_path: Path, sim: SimulatorThread, mongo_uri: str, mongo_db: Db, reference: Snapshot, scenario: Scenario
) -> None:
    control(sim, "POST", "faults", {"kind": "slow", "delay": 0.2, "times": 4, "path": "/answers/export"})
    env = env_for(sim, mongo_uri, mongo_db)
    results: list[Any] = [None, None]

    def run(index: int) -> None:
        results[index] = run_cli(["ingest"], env, tmp_path)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 1], [r.stderr[-500:] for r in results]
    refused = next(r for r in results if r.returncode == 1)
    assert "another ingest is running" in refused.stderr
    assert mongo_db["ingestion_runs"].count_documents({}) == 1
    assert_repaired(mongo_db, reference)
    scenario.name = "two ingests started at the same moment"
    scenario.happened = "one ran; the other exited 1: `another ingest is running (run ..., pid ...)`"
    scenario.proof = "exit codes [0, 1]; one run record; collections equal a clean run"
