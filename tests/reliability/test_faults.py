"""Each run either completes correctly or fails clearly, and the next run repairs it."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Recovers:
    """The run succeeds after exactly `retries` retries (None: one per 401 the simulator answered)."""

    retries: int | None
    waits: Callable[[list[float]], bool]
    waits_text: str


@dataclass(frozen=True)
class Fails:
    """The run fails with exactly this error (a regular expression matched whole) and error class."""

    error: str
    error_type: str | None
    retries: int = 0


def env_for(sim: SimulatorThread, mongo_uri: str, db: Db, **extra: str) -> dict[str, str]:
    return cli_env(sim, mongo_uri, db.name, PEAKON_PER_PAGE="500", PEAKON_MAX_RETRIES="4", **extra)


def last_run(db: Db) -> dict[str, Any]:
    runs = list(db["ingestion_runs"].find().sort("started_at", -1).limit(1))
    assert runs, "no run recorded"
    return runs[0]


def follow_up(tmp_path: Path, sim: SimulatorThread, mongo_uri: str, db: Db, reference: Snapshot, **extra: str) -> None:
    """The next, fault-free run succeeds and leaves the collections of a clean run."""
    control(sim, "DELETE", "faults")
    control(sim, "POST", "switches", {"token_max_requests": None, "rate_limit_per_hour": 100_000})
    done = run_cli(["ingest"], env_for(sim, mongo_uri, db, **extra), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert last_run(db)["status"] == "success"
    assert_repaired(db, reference)


def wait_for_bookmark(db: Db, timeout: float = 90) -> None:
    """Until a page of answers is committed and its bookmark saved: a kill after that has a bookmark."""
    deadline = time.monotonic() + timeout
    while db["sync_state"].find_one({"_id": "answers_export"}) is None:
        assert time.monotonic() < deadline, "no page committed in time"
        time.sleep(0.1)


def assert_failed(done: Any, run: dict[str, Any], expected: Fails) -> None:
    """Exit 1, a `failure` record with exactly the expected error, and that error as the last line."""
    assert done.returncode == 1, done.stderr[-2000:]
    assert run["status"] == "failure"
    assert re.fullmatch(expected.error, run["error"]), run["error"]
    assert run["error_type"] == expected.error_type
    assert done.stderr.strip().splitlines()[-1] == f"peakon-ingest: error: run failed: {run['error']}"


def child(process: psutil.Process, marker: str) -> psutil.Process:
    for proc in process.children(recursive=True):
        if marker in " ".join(proc.cmdline()):
            return proc
    raise AssertionError(f"no {marker} process")


# -- processes killed ------------------------------------------------------------------------------
KILLED = {
    "tap_peakon": Fails(error="tap killed by SIGKILL", error_type=None),
    "target_mongo_upsert": Fails(error="target killed by SIGKILL", error_type=None),
}


@pytest.mark.parametrize("victim", list(KILLED))
def test_kill_9_of_tap_or_target(
    tmp_path: Path, sim: SimulatorThread, mongo_uri: str, mongo_db: Db, reference: Snapshot, scenario: Scenario,
    victim: str,
) -> None:  # fmt: skip
    expected = KILLED[victim]
    control(sim, "POST", "faults", {"kind": "slow", "delay": 0.3, "times": -1, "path": "/answers/export"})
    process = start_cli(["ingest"], env_for(sim, mongo_uri, mongo_db), tmp_path)
    wait_for_bookmark(mongo_db)
    child(psutil.Process(process.pid), victim).send_signal(signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=120)
    run = last_run(mongo_db)
    assert_failed(subprocess.CompletedProcess([], process.returncode, stdout, stderr), run, expected)
    assert_bookmark_not_ahead(mongo_db, expected=True)
    follow_up(tmp_path, sim, mongo_uri, mongo_db, reference)
    scenario.name = f"kill -9 of the {victim.split('_', maxsplit=1)[0]} mid-run"
    scenario.expected = f"fails: exit 1, run `failure`, error `{expected.error}`"
    scenario.happened = f"exit 1; run `failure` ({run['error']}); bookmark behind the data"
    scenario.proof = "follow-up run equals a clean run; bookmark check against the simulator's ids"


def test_kill_9_of_peakon_ingest(
    tmp_path: Path, sim: SimulatorThread, mongo_uri: str, mongo_db: Db, reference: Snapshot, scenario: Scenario
) -> None:
    control(sim, "POST", "faults", {"kind": "slow", "delay": 0.3, "times": -1, "path": "/answers/export"})
    temporary = tmp_path / "tmp"  # the runs' private folders go here (TMPDIR)
    temporary.mkdir()
    process = start_cli(["ingest"], env_for(sim, mongo_uri, mongo_db, TMPDIR=str(temporary)), tmp_path)
    wait_for_bookmark(mongo_db)
    children = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    psutil.wait_procs(children, timeout=60)  # the kernel told them (SIGTERM): they save state and stop
    assert all(not c.is_running() for c in children)
    killed = last_run(mongo_db)
    assert killed["status"] == "running"
    assert_bookmark_not_ahead(mongo_db, expected=True)
    (left,) = temporary.glob("peakon-ingest-*")  # kill -9 skips the cleanup: tokens and the URI are in there
    assert (left / "tap.json").exists()
    # The next run takes over the dead holder's lock at once and removes what it left behind.
    follow_up(tmp_path, sim, mongo_uri, mongo_db, reference, TMPDIR=str(temporary))
    assert mongo_db["ingestion_runs"].find_one({"_id": killed["_id"]})["status"] == "abandoned"  # type: ignore[index]
    assert list(temporary.iterdir()) == []
    scenario.name = "kill -9 of peakon-ingest mid-run"
    scenario.expected = (
        "the children stop; the next run takes the lock at once, marks the run `abandoned`, removes the dead "
        "run's private folder and repairs"
    )
    scenario.happened = (
        "tap and target get SIGTERM from the kernel and stop; the next run takes the lock, marks the run "
        "`abandoned` and removes the folder left behind"
    )
    scenario.proof = "no child survives; abandoned status; the temporary folder empty; follow-up run equals a clean run"


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
        wait_for_bookmark(db)
        server.stop()
        time.sleep(3)
        server.start()
        _, stderr = process.communicate(timeout=240)
        run = last_run(db)
        # The target retries a batch for about 30 s with backoff: a 3-second outage is ridden out.
        assert (process.returncode, run["status"], run["error"]) == (0, "success", None), stderr[-2000:]
        assert_repaired(db, reference)
    finally:
        server.stop()
    scenario.name = "MongoDB stopped mid-run for 3 s, then started again"
    scenario.expected = "recovers: exit 0, run `success`"
    scenario.happened = f"the target retried its batch with backoff; run `{run['status']}`, exit {process.returncode}"
    scenario.proof = "follow-up run equals a clean run; bookmark check"


# -- faults from the simulator ---------------------------------------------------------------------
BACKOFF_CAP = 0.08  # backoff from 0.01 s (env_for), doubling, over at most 4 retries: never longer


def exponential(waits: list[float]) -> bool:
    return all(0 < wait <= BACKOFF_CAP for wait in waits)


@dataclass(frozen=True)
class Case:
    where: str
    faults: list[dict[str, Any]]
    switches: dict[str, Any]
    expect: Recovers | Fails


FAULTS: dict[str, Case] = {
    "429 storm with Retry-After": Case(
        "answers",
        [{"kind": "status", "status": 429, "retry_after": 1, "times": 3, "skip": 2}],
        {},
        Recovers(retries=3, waits=lambda w: w == [1.0, 1.0, 1.0], waits_text="each the Retry-After, 1 s"),
    ),
    "429 storm without Retry-After": Case(
        "answers",
        [{"kind": "status", "status": 429, "times": 3, "skip": 2}],
        {},
        Recovers(retries=3, waits=exponential, waits_text="exponential backoff"),
    ),
    "5xx burst (500, 502, 503)": Case(
        "answers",
        [{"kind": "status", "status": s, "times": 1, "skip": 3} for s in (500, 502, 503)],
        {},
        Recovers(retries=3, waits=exponential, waits_text="exponential backoff"),
    ),
    "5xx until retries run out": Case(
        "answers",
        [{"kind": "status", "status": 503, "times": -1, "skip": 3}],
        {},
        Fails(error="HTTP 503 from /api/v1/answers/export", error_type="RetriableAPIError", retries=4),
    ),
    "connection resets": Case(
        "answers",
        [{"kind": "reset", "times": 2, "skip": 2}],
        {},
        Recovers(retries=2, waits=exponential, waits_text="exponential backoff"),
    ),
    "token expiry during pagination": Case(
        "answers",
        [],
        {"token_max_requests": 4},
        Recovers(retries=None, waits=lambda w: set(w) == {0.0}, waits_text="none: each 401 re-authenticates at once"),
    ),
    "truncated JSON page": Case(
        "answers",
        [{"kind": "truncate", "times": 1, "skip": 2}],
        {},
        Recovers(retries=1, waits=exponential, waits_text="exponential backoff"),
    ),
    "links.next loop": Case(
        "answers",
        [{"kind": "loop", "times": 1, "skip": 2}],
        {},
        Fails(
            error=r"pagination loop: links\.next of http://127\.0\.0\.1:\d+/api/v1/answers/export\?per_page=500"
            r"&continuation=\d+ points back to http://127\.0\.0\.1:\d+/api/v1/answers/export\?per_page=500, "
            r"already fetched",
            error_type="PaginationLoopError",
            retries=0,
        ),
    ),
    "responses slower than the timeout": Case(
        "answers",
        [{"kind": "slow", "delay": 2.5, "times": 1, "skip": 2}],
        {"HTTP_TIMEOUT_SECONDS": "1"},
        Recovers(retries=1, waits=exponential, waits_text="exponential backoff"),
    ),
    "hourly rate limit reached": Case(
        "any",
        [],
        {"rate_limit_per_hour": 10},
        Fails(
            error="HTTP 429 from /api/v1/answers/export without Retry-After", error_type="RetriableAPIError", retries=4
        ),
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_simulator_fault(
    tmp_path: Path, sim: SimulatorThread, mongo_uri: str, mongo_db: Db, reference: Snapshot, scenario: Scenario,
    name: str,
) -> None:  # fmt: skip
    case = FAULTS[name]
    for rule in case.faults:
        control(sim, "POST", "faults", {**rule, "path": "/answers/export" if case.where == "answers" else ""})
    switches = {k: v for k, v in case.switches.items() if not k.isupper()}  # UPPER: a variable instead
    if switches:
        control(sim, "POST", "switches", switches)
    variables = {k: str(v) for k, v in case.switches.items() if k.isupper()}
    done = run_cli(["ingest"], env_for(sim, mongo_uri, mongo_db, **variables), tmp_path)
    run = last_run(mongo_db)
    expect = case.expect
    scenario.name = name
    if isinstance(expect, Recovers):
        unauthorized = sum(r["status"] == 401 for r in control(sim, "GET", "requests")["requests"])
        retries = unauthorized if expect.retries is None else expect.retries
        assert (done.returncode, run["status"], run["error"]) == (0, "success", None), done.stderr[-2000:]
        assert run["retries"] == retries
        assert expect.waits(run["retry_waits"]), run["retry_waits"]
        assert_repaired(mongo_db, reference)  # the recovered run itself stored what a clean run stores
        scenario.expected = f"recovers: exit 0, run `success` after {retries} retries; waits {expect.waits_text}"
        scenario.happened = f"run `success` after {run['retries']} retries, waits {run['retry_waits']}"
        scenario.proof = "its collections equal a clean run's; bookmark check"
        return
    assert_failed(done, run, expect)
    assert run["retries"] == expect.retries
    assert_bookmark_not_ahead(mongo_db, expected=True)
    follow_up(tmp_path, sim, mongo_uri, mongo_db, reference)
    scenario.expected = f"fails: exit 1, `{expect.error_type}`: `{expect.error}` after {expect.retries} retries"
    scenario.happened = f"failed: `{run['error_type']}`: `{run['error'][:100]}`"
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
    scenario.expected = "one runs, the other exits 1 at once: another ingest is running"
    scenario.happened = "one ran; the other exited 1: `another ingest is running (run ..., pid ...)`"
    scenario.proof = "exit codes [0, 1]; one run record; collections equal a clean run"
