"""Bad settings exit 2 with one line naming the variable; `daemon` hands a crontab to supercronic."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.embedded_mongo import free_port
from pymongo.database import Database

from tests.cli.helpers import cli_env, run_cli

Db = Database[dict[str, Any]]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PEAKON_COMPANY_ID", "acme", "PEAKON_COMPANY_ID: expected a whole number (got 'acme')"),
        ("PEAKON_PER_PAGE", "0", "PEAKON_PER_PAGE: 0 is less than the minimum of 1 (got '0')"),
        ("PEAKON_PER_PAGE", "20001", "PEAKON_PER_PAGE: 20001 is greater than the maximum of 20000"),
        ("PEAKON_REDACT_MODE", "blur", "PEAKON_REDACT_MODE: 'blur' is not one of ['remove', 'hash']"),
        ("PEAKON_REDACT_FIELDS", "a b", "PEAKON_REDACT_FIELDS: expected comma-separated field names"),
        ("PEAKON_PSEUDONYMIZE_IDS", "true", "PEAKON_REDACT_KEY: required (or PEAKON_REDACT_KEY_FILE) with"),
        ("PEAKON_REDACT_KEY_FILE", "/nonexistent/key", "PEAKON_REDACT_KEY_FILE: cannot read /nonexistent/key"),
        ("SCHEDULE_CRON", "every monday", "SCHEDULE_CRON: 2 fields; expected a cron expression as supercronic reads"),
        ("PEAKON_BASE_URL", "peakon.com", "PEAKON_BASE_URL: expected an https URL"),
        ("PEAKON_BASE_URL", "http://acme.peakon.com/api/v1", "PEAKON_BASE_URL: expected https (plain http only on"),
        ("PEAKON_BASE_URL", "https://me:pw@acme.peakon.com/api/v1", "PEAKON_BASE_URL: expected a URL without user"),
        ("HTTP_TIMEOUT_SECONDS", "soon", "HTTP_TIMEOUT_SECONDS: expected a number (got 'soon')"),
        ("RUN_ON_START", "perhaps", "RUN_ON_START: Input should be a valid boolean"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT: Input should be 'text' or 'json'"),
        ("MONGO_URI", "postgres://nope", "MONGO_URI: expected a mongodb:// or mongodb+srv:// URI"),
        ("MONGO_URI", "mongodb://a:b@host:notaport", "MONGO_URI: expected a mongodb:// or mongodb+srv:// URI"),
        ("MONGO_DB", "my.db", "MONGO_DB: a MongoDB database name without spaces"),
        ("PEAKON_APP_TOKEN_FILE", "/nonexistent/token", "PEAKON_APP_TOKEN_FILE: cannot read /nonexistent/token"),
    ],
)
def test_bad_setting_exits_2_naming_the_variable(
    tmp_path: Path, mongo_uri: str, mongo_db: Db, variable: str, value: str, expected: str
) -> None:
    env = cli_env(None, mongo_uri, mongo_db.name, **{variable: value})
    if variable == "PEAKON_APP_TOKEN_FILE":
        env.pop("PEAKON_APP_TOKEN")
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"peakon-ingest: error: {expected}")
    assert "^" not in lines[0]  # never a raw regular expression
    assert "notaport" not in lines[0] or variable != "MONGO_URI"  # a URI may carry a password: never shown
    assert ":pw@" not in lines[0]
    assert mongo_db.list_collection_names() == []


def test_an_unknown_stream_exits_2_in_one_line_before_the_tap_starts(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    done = run_cli(["ingest", "--streams", "drivers,answers"], cli_env(None, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("peakon-ingest: error: --streams: unknown stream 'answers'; expected some of answers_export")
    assert mongo_db.list_collection_names() == []


def test_missing_token_exits_2_naming_peakon_app_token(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    env = cli_env(None, mongo_uri, mongo_db.name)
    env.pop("PEAKON_APP_TOKEN")
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 2
    assert "PEAKON_APP_TOKEN: required" in done.stderr


def test_token_file_is_read_for_docker_secrets(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    secret = tmp_path / "token"
    secret.write_text("sim-app-token\n")
    env = cli_env(simulator, mongo_uri, mongo_db.name, PEAKON_APP_TOKEN_FILE=str(secret))
    env.pop("PEAKON_APP_TOKEN")
    done = run_cli(["ingest", "--streams", "drivers"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert mongo_db["drivers"].count_documents({}) == 18


def test_unreachable_mongo_exits_2_quickly(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(None, f"mongodb://127.0.0.1:{port}/?directConnection=true", "peakon", MONGO_TIMEOUT_SECONDS="2")
    started = time.monotonic()
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 2
    assert time.monotonic() - started < 15
    reason = f"MongoDB at 127.0.0.1:{port} is unreachable after 2s (ServerSelectionTimeoutError)"
    assert done.stderr.strip() == f"peakon-ingest: error: MONGO_URI: {reason}"


def stub_supercronic(tmp_path: Path) -> Path:
    """Records its arguments and the crontab it was given, as supercronic would read it."""
    stub = tmp_path / "supercronic"
    script = f'echo "$@" > {tmp_path}/args\nfor last; do :; done\ncat "$last" > {tmp_path}/received-crontab\n'
    stub.write_text("#!/bin/sh\n" + script)
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    return stub


def test_daemon_hands_supercronic_the_schedule(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    env = cli_env(None, mongo_uri, mongo_db.name, SUPERCRONIC_PATH=str(stub_supercronic(tmp_path)),
                  RUN_ON_START="false", SCHEDULE_CRON="15 4 * * 1", CRON_TZ="Europe/Copenhagen")  # fmt: skip
    done = run_cli(["daemon", "--crontab", str(tmp_path / "crontab")], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "args").read_text().strip() == f"-passthrough-logs {tmp_path / 'crontab'}"
    lines = [line for line in (tmp_path / "received-crontab").read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 2
    assert lines[0] == "CRON_TZ=Europe/Copenhagen"  # supercronic schedules the job in that zone
    assert lines[1].startswith("15 4 * * 1 ")
    assert lines[1].endswith("-m peakon_ingest.cli ingest")
    assert "sim-app-token" not in (tmp_path / "received-crontab").read_text()


def test_daemon_runs_an_ingest_first_when_run_on_start(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name, SUPERCRONIC_PATH=str(stub_supercronic(tmp_path)))
    done = run_cli(["daemon", "--crontab", str(tmp_path / "crontab")], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert mongo_db["answers_export"].count_documents({}) == 2500
    assert (tmp_path / "received-crontab").exists()


def test_daemon_with_invalid_cron_exits_2(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    env = cli_env(
        None, mongo_uri, mongo_db.name, SUPERCRONIC_PATH=str(stub_supercronic(tmp_path)), SCHEDULE_CRON="0 25 * * *"
    )
    done = run_cli(["daemon"], env, tmp_path)
    assert done.returncode == 2
    assert "SCHEDULE_CRON" in done.stderr
    assert not (tmp_path / "args").exists()


def test_daemon_exits_at_once_when_mongo_is_unreachable(tmp_path: Path) -> None:
    env = cli_env(None, f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", "peakon",
                  SUPERCRONIC_PATH=str(stub_supercronic(tmp_path)), MONGO_TIMEOUT_SECONDS="1")  # fmt: skip
    done = run_cli(["daemon"], env, tmp_path)
    assert done.returncode == 2
    assert not (tmp_path / "args").exists()


def test_runs_and_status_show_the_history(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name, COLUMNS="160")
    assert run_cli(["ingest"], env, tmp_path).returncode == 0
    listed = run_cli(["runs", "--limit", "5"], env, tmp_path)
    assert listed.returncode == 0
    run_id = str(mongo_db["ingestion_runs"].find_one()["_id"])  # type: ignore[index]
    assert run_id[:8] in listed.stdout
    assert "success" in listed.stdout
    status = run_cli(["status"], env, tmp_path)
    assert status.returncode == 0
    assert "last_answer_id=" in status.stdout
    assert "last_employee_id=5249" in status.stdout


def test_version_and_short_help(tmp_path: Path, mongo_uri: str) -> None:
    from peakon_ingest import __version__  # noqa: PLC0415

    env = cli_env(None, mongo_uri, "unused")
    version = run_cli(["--version"], env, tmp_path)
    assert (version.returncode, version.stdout.strip()) == (0, f"peakon-ingest {__version__}")
    for args in (["-h"], ["ingest", "-h"]):
        shown = run_cli(args, env, tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "Usage:" in shown.stdout


def test_a_dot_env_copied_from_the_example_works_as_it_is(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    """The quick start copies .env.example to .env and sets the token: its empty lines
    (`ALERT_WEBHOOK_URL=`, `CRON_TZ=`, ...) mean "unset", never a bad value."""
    example = Path(__file__).parents[2] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text())
    done = run_cli(["ingest", "--streams", "drivers"], cli_env(simulator, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert mongo_db["drivers"].count_documents({}) > 0
