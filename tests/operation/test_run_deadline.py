"""PEAKON_RUN_TIMEOUT: a run past it stops as a stop signal stops it (the page committed, the state
saved), is recorded failed with `deadline` as the reason, alerts, and releases the lock; the next
run completes from where it stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peakon_simulator.testing import SimulatorFactory, control
from pymongo.database import Database

from tests.cli.helpers import cli_env, run_cli
from tests.cli.test_config_and_daemon import stub_supercronic
from tests.operation.conftest import Webhook

Db = Database[dict[str, Any]]


def test_a_run_past_its_deadline_stops_cleanly_and_the_next_completes(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, webhook: Webhook
) -> None:
    sim = make_simulator(answers=20_000)
    control(sim, "POST", "faults", {"kind": "slow", "delay": 1.0, "times": -1, "path": "/answers/export"})
    env = cli_env(sim, mongo_uri, mongo_db.name, ALERT_WEBHOOK_URL=webhook.url, PEAKON_RUN_TIMEOUT="6")
    done = run_cli(["ingest"], env, tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "PEAKON_RUN_TIMEOUT (6 s) reached" in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("peakon-ingest: error: run failed: deadline: stopped after PEAKON_RUN_TIMEOUT (6 s)")
    )
    (run,) = mongo_db["ingestion_runs"].find()
    assert (run["status"], run["error_type"]) == ("failure", "deadline")
    assert run["duration_seconds"] < 6 + 15  # the page under way ends; nothing waits out the whole export
    stored = mongo_db["answers_export"].count_documents({})
    assert 0 < stored < 20_000
    saved = mongo_db["sync_state"].find_one({"_id": "answers_export"})
    assert saved is not None
    newest = max(int(doc["_id"]) for doc in mongo_db["answers_export"].find({}, {"_id": 1}))
    assert saved["last_answer_id"] == newest  # the state covers exactly what was committed
    assert mongo_db["locks"].count_documents({}) == 0
    (alert,) = webhook.bodies
    assert (alert["status"], alert["error"].split(":")[0]) == ("failure", "deadline")
    control(sim, "DELETE", "faults")
    again = run_cli(["ingest"], {**env, "PEAKON_RUN_TIMEOUT": "600"}, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert mongo_db["answers_export"].count_documents({}) == 20_000
    latest = mongo_db["ingestion_runs"].find_one(sort=[("started_at", -1)])
    assert latest is not None
    assert latest["status"] == "success"
    assert [b["recovered"] for b in webhook.bodies] == [False, True]


def test_a_bad_run_timeout_exits_2_naming_it(tmp_path: Path) -> None:
    done = run_cli(["status"], cli_env(None, "mongodb://127.0.0.1:9", "unused", PEAKON_RUN_TIMEOUT="0"), tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("peakon-ingest: error: PEAKON_RUN_TIMEOUT: Input should be greater than 0")


def test_the_daemon_carries_on_with_its_schedule_after_a_start_up_run_hits_its_deadline(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db
) -> None:
    sim = make_simulator(answers=20_000)
    control(sim, "POST", "faults", {"kind": "slow", "delay": 1.0, "times": -1, "path": "/answers/export"})
    env = cli_env(sim, mongo_uri, mongo_db.name, SUPERCRONIC_PATH=str(stub_supercronic(tmp_path)),
                  PEAKON_RUN_TIMEOUT="5")  # fmt: skip
    done = run_cli(["daemon", "--crontab", str(tmp_path / "crontab")], env, tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the start-up ingest failed; the schedule runs anyway" in done.stderr
    assert (tmp_path / "received-crontab").exists()  # supercronic got the schedule
    (run,) = mongo_db["ingestion_runs"].find()
    assert (run["status"], run["error_type"]) == ("failure", "deadline")
    assert mongo_db["locks"].count_documents({}) == 0
