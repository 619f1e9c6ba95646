"""Weeks of churn, new answers and faults; after every week the collections equal a clean full sync.

`SOAK_WEEKS` sets how many weeks (default 2 in the suite; the 20-week run:
`SOAK_WEEKS=20 make test SUITES=tests/reliability/test_soak.py`), `SOAK_SEED` the first week's seed
(each week's seed is printed, so a failure replays with `SOAK_SEED=<seed> SOAK_WEEKS=1`).
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import psutil
from peakon_simulator.testing import SimulatorFactory, control
from pymongo import MongoClient
from pymongo.database import Database

from tests.cli.helpers import cli_env, run_cli, start_cli
from tests.reliability.checks import PER_RUN, STREAMS
from tests.reliability.conftest import Scenario

Db = Database[dict[str, Any]]
WEEKS = int(os.environ.get("SOAK_WEEKS") or 2)
FIRST_SEED = int(os.environ.get("SOAK_SEED") or 20261201)
TRACKING = {"last_seen_at", "changed_at", "removed_at"}
HTTP_FAULTS = (
    {"kind": "status", "status": 503, "times": 2},
    {"kind": "status", "status": 429, "retry_after": 0, "times": 2},
    {"kind": "reset", "times": 1},
    {"kind": "truncate", "times": 1},
)
KILLS = {"kill the tap": "tap_peakon", "kill the target": "target_mongo_upsert", "kill peakon-ingest": ""}


def current(db: Db) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every stream's documents that are not marked removed, without per-run and tracking fields."""
    return {
        name: {
            d["_id"]: {k: v for k, v in d.items() if k not in PER_RUN | TRACKING}
            for d in db[name].find()
            if not d.get("removed_at")
        }
        for name in STREAMS
    }


def kill_mid_run(env: dict[str, str], tmp_path: Path, sim: Any, victim: str, rng: random.Random) -> None:
    control(sim, "POST", "faults", {"kind": "slow", "delay": 0.2, "times": -1, "path": "/answers/export"})
    process = start_cli(["ingest"], env, tmp_path)
    time.sleep(rng.uniform(0.3, 2.0))
    if process.poll() is None:
        if victim:
            for proc in psutil.Process(process.pid).children(recursive=True):
                if victim in " ".join(proc.cmdline()):
                    proc.send_signal(signal.SIGKILL)
        else:
            process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)
    control(sim, "DELETE", "faults")


def test_soak_weeks_of_change_and_faults_end_equal_to_a_clean_sync(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_client: MongoClient[dict[str, Any]],
    scenario: Scenario,
) -> None:  # fmt: skip
    sim = make_simulator(answers=3_000, employees=200, seed=7)
    db, clean = mongo_client[f"soak_{os.getpid()}"], mongo_client[f"soak_clean_{os.getpid()}"]
    env = cli_env(sim, mongo_uri, db.name, PEAKON_PER_PAGE="500", PEAKON_MAX_RETRIES="4", TMPDIR=str(tmp_path))
    clean_env = {**env, "MONGO_DB": clean.name}
    removed: set[Any] = set()
    happened = []
    try:
        assert run_cli(["ingest"], env, tmp_path).returncode == 0
        for week in range(1, WEEKS + 1):
            seed = FIRST_SEED + week - 1
            print(f"soak week {week}: SOAK_SEED={seed}")  # noqa: T201 - how to replay a failing week
            rng = random.Random(seed)  # noqa: S311 - a test's plan, not a secret
            churn = control(sim, "POST", "churn", {"change": rng.randint(0, 12), "remove": rng.randint(0, 4),
                                                   "add": rng.randint(0, 6)})  # fmt: skip
            control(sim, "POST", "answers", {"count": rng.randint(0, 900)})
            removed.update(churn["removed"])
            fault = rng.choice(["none", "http", *KILLS])
            runs_before = db["ingestion_runs"].count_documents({})
            if fault == "http":
                path = rng.choice(["/answers/export", "/employees", "/engagement/drivers"])
                control(sim, "POST", "faults", {**rng.choice(HTTP_FAULTS), "path": path})
            elif fault in KILLS:
                kill_mid_run(env, tmp_path, sim, KILLS[fault], rng)
            done = run_cli(["ingest"], env, tmp_path)  # recovers (retries), or repairs what a kill left
            assert done.returncode == 0, f"week {week} (SOAK_SEED={seed}, {fault}): {done.stderr[-2000:]}"
            control(sim, "DELETE", "faults")

            mongo_client.drop_database(clean.name)
            assert run_cli(["ingest", "--full-sync"], clean_env, tmp_path).returncode == 0
            assert current(db) == current(clean), f"week {week} (SOAK_SEED={seed}, {fault})"
            # Filtered here: `$ne: null` also matches a missing field on the embedded server.
            marked = {name: {d["_id"] for d in db[name].find() if d.get("removed_at")} for name in STREAMS}
            assert marked == {name: removed if name == "employees" else set() for name in STREAMS}, f"week {week}"
            open_versions = {v["key"]: v for v in db["employees_history"].find({"valid_to": None})}
            hashes = {d["_id"]: d["content_hash"] for d in db["employees"].find({"removed_at": None})}
            assert {k: v["content_hash"] for k, v in open_versions.items()} == hashes, f"week {week}: history"
            if fault in {"none", "http"}:  # a kill -9 may lose a committed batch's count, never its data
                week_runs = list(db["ingestion_runs"].find().sort("started_at", 1))[runs_before:]
                counted = {k: sum(r["counts"].get("employees", {}).get(k, 0) for r in week_runs)
                           for k in ("inserted", "changed", "removed")}  # fmt: skip
                assert counted == {"inserted": len(churn["added"]), "changed": len(churn["changed"]),
                                   "removed": len(churn["removed"])}, f"week {week}: counts"  # fmt: skip
            happened.append(fault)
    finally:
        mongo_client.drop_database(db.name)
        mongo_client.drop_database(clean.name)
    scenario.name = f"soak: {WEEKS} weeks of churn, new answers and a random fault each (first seed {FIRST_SEED})"
    scenario.expected = (
        "after every week: the collections equal a clean full sync, removed keys marked, one open history "
        "version per current employee; without a kill, the week's counts equal the simulator's churn"
    )
    scenario.happened = "weeks: " + ", ".join(happened)
    scenario.proof = "documents compared with a clean full sync each week; removals, history and counts checked"
