"""Unattended operation: schedules as supercronic reads them (and CRON_TZ), the health check, alerts
to a webhook, and a clean stop of the daemon while an ingest runs under a supercronic stand-in."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorThread
from peakon_simulator.testing import SimulatorFactory, control
from pymongo.database import Database

from peakon_ingest.schedule.cron import Schedule, zone
from tests.cli.helpers import cli_env, run_cli, start_cli, wait_for_documents
from tests.operation.conftest import Webhook
from tests.reliability.checks import assert_bookmark_not_ahead

Db = Database[dict[str, Any]]
STANDIN = Path(__file__).with_name("standin_supercronic.py")


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("@weekly", "2026-12-01T10:00:00+00:00", "2026-12-06T00:00:00+00:00"),
        ("@daily", "2026-12-01T10:00:00+00:00", "2026-12-02T00:00:00+00:00"),
        ("30 4 * * * 2027", "2026-12-01T10:00:00+00:00", "2027-01-01T04:30:00+00:00"),  # 6 fields: a year
        ("15 30 4 * * * *", "2026-12-01T10:00:00+00:00", "2026-12-02T04:30:15+00:00"),  # 7: a second first
    ],
)
def test_schedules_supercronic_accepts(expression: str, after: str, expected: str) -> None:
    schedule = Schedule.parse(expression, zone(None))
    assert schedule.after(dt.datetime.fromisoformat(after)) == dt.datetime.fromisoformat(expected)


def test_cron_tz_keeps_local_time_through_daylight_saving() -> None:
    copenhagen = ZoneInfo("Europe/Copenhagen")
    schedule = Schedule.parse("0 3 * * 1", zone("Europe/Copenhagen"))
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    offsets = set()
    for _ in range(52):  # a year of Mondays: 03:00 in Copenhagen, winter (UTC+1) and summer (UTC+2)
        moment = schedule.after(moment)
        local = moment.astimezone(copenhagen)
        assert (local.weekday(), local.hour, local.minute) == (0, 3, 0)
        offsets.add(local.utcoffset())
    assert offsets == {dt.timedelta(hours=1), dt.timedelta(hours=2)}
    # The week across the change to summer time is an hour short, in real time.
    assert schedule.interval(dt.datetime(2026, 3, 21, tzinfo=dt.UTC)) == dt.timedelta(days=7, hours=-1)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SCHEDULE_CRON", "every monday", "SCHEDULE_CRON: 2 fields; expected a cron expression as supercronic"),
        ("SCHEDULE_CRON", "@fortnightly", "SCHEDULE_CRON: unknown shorthand '@fortnightly'; expected a cron"),
        ("CRON_TZ", "Mars/Olympus", "CRON_TZ: expected an IANA time zone such as Europe/Copenhagen"),
        ("ALERT_WEBHOOK_URL", "hooks.example.com/x", "ALERT_WEBHOOK_URL: expected an http(s) URL"),
    ],
)
def test_bad_schedule_zone_or_webhook_exit_2(
    tmp_path: Path, mongo_uri: str, variable: str, value: str, message: str
) -> None:
    done = run_cli(["status"], cli_env(None, mongo_uri, "unused", **{variable: value}), tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"peakon-ingest: error: {message}"), done.stderr
    assert "hooks.example.com" not in done.stderr  # a webhook URL is a secret


def test_status_shows_the_next_run_in_the_zone(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    env = cli_env(None, mongo_uri, mongo_db.name, SCHEDULE_CRON="@weekly", CRON_TZ="Europe/Copenhagen")
    done = run_cli(["status"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("next run: "))
    upcoming = dt.datetime.fromisoformat(line.split()[2])
    assert (upcoming.weekday(), upcoming.hour) == (6, 0)  # Sunday midnight, Copenhagen time
    assert upcoming.utcoffset() in {dt.timedelta(hours=1), dt.timedelta(hours=2)}


def test_status_check_follows_the_last_run_and_the_schedule(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db
) -> None:
    sim = make_simulator()
    env = cli_env(sim, mongo_uri, mongo_db.name, SCHEDULE_CRON="0 3 * * 1", HEALTH_GRACE_SECONDS="3600")
    done = run_cli(["status", "--check"], env, tmp_path)
    assert (done.returncode, done.stdout) == (1, "no ingest has finished yet\n")
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    done = run_cli(["status", "--check"], env, tmp_path)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("ok: the last run ")
    # Eight days and an hour later the weekly run is overdue.
    runs = mongo_db["ingestion_runs"]
    (run,) = runs.find()
    runs.replace_one({"_id": run["_id"]}, {**run, "finished_at": run["finished_at"] - dt.timedelta(days=8, hours=1)})
    done = run_cli(["status", "--check"], env, tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("overdue: the last run ")
    # A failed run is unhealthy at once.
    control(sim, "POST", "faults", {"kind": "status", "status": 500, "times": -1, "path": "/engagement/drivers"})
    assert run_cli(["ingest", "--streams", "drivers"], {**env, "PEAKON_MAX_RETRIES": "0"}, tmp_path).returncode == 1
    done = run_cli(["status", "--check"], env, tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("the last run ")
    assert " ended failure: " in done.stdout


def test_alerts_on_failure_and_on_recovery_only(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, webhook: Webhook
) -> None:
    sim = make_simulator()
    env = cli_env(sim, mongo_uri, mongo_db.name, ALERT_WEBHOOK_URL=webhook.url, PEAKON_MAX_RETRIES="0")
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    assert webhook.bodies == []  # a success after a success: nothing to say
    control(sim, "POST", "faults", {"kind": "status", "status": 500, "times": -1, "path": "/engagement/drivers"})
    failed = run_cli(["ingest"], env, tmp_path)
    assert failed.returncode == 1
    (alert,) = webhook.bodies
    assert alert["status"] == "failure"
    assert alert["recovered"] is False
    assert alert["text"].startswith("peakon-ingest: run ")
    assert " ended failure: " in alert["text"]
    assert {"run_id", "error", "counts", "duration_seconds"} <= set(alert)
    control(sim, "DELETE", "faults")
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    assert [b["recovered"] for b in webhook.bodies] == [False, True]
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    assert len(webhook.bodies) == 2
    text = json.dumps(webhook.bodies)
    assert DEFAULT_APP_TOKEN not in text
    assert "secret-part" not in failed.stderr


def test_an_undeliverable_alert_is_logged_and_never_fails_the_run(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, webhook: Webhook
) -> None:
    sim = make_simulator()
    webhook.fail = True
    env = cli_env(sim, mongo_uri, mongo_db.name, ALERT_WEBHOOK_URL=webhook.url, PEAKON_MAX_RETRIES="0")
    control(sim, "POST", "faults", {"kind": "status", "status": 500, "times": -1, "path": "/engagement/drivers"})
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 1  # the run's own failure, nothing more
    run = mongo_db["ingestion_runs"].find_one()
    assert run is not None
    assert run["alert"] == {"sent": False, "recovered": False, "error": "HTTPError 500"}
    assert "was not delivered (HTTPError 500)" in done.stderr
    assert "secret-part" not in done.stderr
    unreachable = {**env, "ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook"}
    start = time.monotonic()
    assert run_cli(["ingest"], unreachable, tmp_path).returncode == 1
    assert time.monotonic() - start < 60


def standin_scheduler(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that runs the stand-in as supercronic would be run; and the log it writes."""
    standin = tmp_path / "supercronic"
    standin.write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN} "$@"\n')
    standin.chmod(0o755)
    return standin, tmp_path / "standin.log"


def stopped_mid_ingest(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, *, run_on_start: str
) -> tuple[subprocess.Popen[str], str, Path]:
    """The daemon under the stand-in scheduler (the job due every second), sent SIGTERM once 2,000
    answers of a slow export are stored: the daemon (exited), its stderr, and the stand-in's log."""
    sim: SimulatorThread = make_simulator(answers=20_000)
    control(sim, "POST", "faults", {"kind": "slow", "delay": 0.4, "times": -1, "path": "/answers/export"})
    standin, log = standin_scheduler(tmp_path)
    env = cli_env(sim, mongo_uri, mongo_db.name, SUPERCRONIC_PATH=str(standin), RUN_ON_START=run_on_start,
                  SCHEDULE_CRON="* * * * * * *", STANDIN_LOG=str(log))  # fmt: skip
    daemon = start_cli(["daemon", "--crontab", str(tmp_path / "crontab")], env, tmp_path)
    wait_for_documents(mongo_db["answers_export"], 2000)
    daemon.send_signal(signal.SIGTERM)
    _, stderr = daemon.communicate(timeout=120)
    return daemon, stderr, log


def test_the_daemon_stops_a_running_ingest_cleanly(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db
) -> None:
    """SIGTERM to the daemon (what `docker compose stop` sends) reaches the ingest its scheduler
    started in a process group of its own: the page is committed, the run recorded as interrupted."""
    daemon, stderr, log = stopped_mid_ingest(tmp_path, make_simulator, mongo_uri, mongo_db, run_on_start="false")
    assert daemon.returncode == 0, (daemon.returncode, stderr[-3000:], log.read_text())
    (run,) = mongo_db["ingestion_runs"].find()
    assert run["status"] == "interrupted", run
    written = mongo_db["answers_export"].count_documents({})
    assert 2000 <= written < 20_000
    # The bookmark is never ahead of the data (a page after it may be stored too), a page at least in.
    assert assert_bookmark_not_ahead(mongo_db, expected=True) >= 1000
    recorded = log.read_text()
    assert "-passthrough-logs" in recorded
    assert "SIGTERM: waiting for the job" in recorded
    assert "job exited 1" in recorded  # the ingest ended (interrupted), and only then the scheduler
    assert mongo_db["locks"].count_documents({}) == 0


def test_a_job_the_scheduler_starts_as_the_stop_comes_is_stopped_too(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db
) -> None:
    """supercronic may start a job while it takes in a stop: the daemon passes the stop on to that job
    as well, so it never runs a whole ingest while the container waits to be killed."""
    sim: SimulatorThread = make_simulator(answers=20_000)
    control(sim, "POST", "faults", {"kind": "slow", "delay": 2.0, "times": -1, "path": "/answers/export"})
    standin, log = standin_scheduler(tmp_path)
    env = cli_env(sim, mongo_uri, mongo_db.name, SUPERCRONIC_PATH=str(standin), RUN_ON_START="false",
                  SCHEDULE_CRON="0 3 1 1 *", STANDIN_LOG=str(log), STANDIN_JOB_ON_STOP="1")  # fmt: skip
    daemon = start_cli(["daemon", "--crontab", str(tmp_path / "crontab")], env, tmp_path)
    deadline = time.monotonic() + 60
    while not (log.exists() and "crontab" in log.read_text()):
        assert time.monotonic() < deadline, "the scheduler never started"
        time.sleep(0.2)
    daemon.send_signal(signal.SIGTERM)
    _, stderr = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, (stderr[-3000:], log.read_text())
    recorded = log.read_text()
    assert recorded.index("SIGTERM") < recorded.rindex("starting"), recorded  # the job came after the stop
    assert "job exited" in recorded
    statuses = [run["status"] for run in mongo_db["ingestion_runs"].find()]
    assert set(statuses) <= {"interrupted"}, statuses  # stopped at its start, or before it recorded a run
    assert mongo_db["answers_export"].count_documents({}) < 20_000
    assert mongo_db["locks"].count_documents({}) == 0


def test_the_mongodb_password_comes_from_a_file_and_never_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from peakon_ingest.settings import load_settings  # noqa: PLC0415 - settings read the environment on load

    secret_file = tmp_path / "mongo_ingest_password"
    secret_file.write_text("p@ss:/word\n")
    monkeypatch.setenv("MONGO_URI", "mongodb://ingest@mongo:27017/?authSource=admin")
    monkeypatch.setenv("MONGO_PASSWORD_FILE", str(secret_file))
    settings = load_settings(env_file=None)
    assert settings.connection_uri() == "mongodb://ingest:p%40ss%3A%2Fword@mongo:27017/?authSource=admin"
    assert settings.target_settings()["mongo_uri"] == settings.connection_uri()  # the target gets the same


@pytest.mark.parametrize(
    ("uri", "file_text", "message"),
    [
        (
            "mongodb://ingest:other@127.0.0.1:9/",
            "pw",
            "MONGO_PASSWORD_FILE: MONGO_URI must name the user, without a password",
        ),
        ("mongodb://127.0.0.1:9/", "pw", "MONGO_PASSWORD_FILE: MONGO_URI must name the user"),
        ("mongodb://ingest@127.0.0.1:9/", "", "MONGO_PASSWORD_FILE: "),
    ],
)
def test_a_password_file_that_cannot_be_used_exits_2(tmp_path: Path, uri: str, file_text: str, message: str) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(file_text)
    env = cli_env(None, uri, "db", MONGO_PASSWORD_FILE=str(secret_file))
    done = run_cli(["status"], env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"peakon-ingest: error: {message}"), done.stderr
    assert "other" not in done.stderr


def test_a_stop_during_the_start_up_ingest_ends_the_daemon_without_starting_the_schedule(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db
) -> None:
    daemon, stderr, log = stopped_mid_ingest(tmp_path, make_simulator, mongo_uri, mongo_db, run_on_start="true")
    assert daemon.returncode == 0, stderr[-3000:]
    assert "the schedule is not started" in stderr
    assert not log.exists()  # the scheduler never ran
    (run,) = mongo_db["ingestion_runs"].find()
    assert run["status"] == "interrupted"
