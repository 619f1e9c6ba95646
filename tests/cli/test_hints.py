"""The CLI explains itself: help that names the variables, and a next step where a bare fact would
leave a newcomer guessing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from pymongo.database import Database

from peakon_ingest import hints
from tests.cli.helpers import cli_env, run_cli

Db = Database[dict[str, Any]]
PEAKON_MARTS = str(Path(sys.executable).parent / "peakon-marts")


def test_peakon_marts_help_prints_help_and_touches_no_database(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    env = cli_env(None, mongo_uri, mongo_db.name)
    for flag in ("--help", "-h"):
        shown = subprocess.run([PEAKON_MARTS, flag], env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("Usage: peakon-marts [OPTIONS]")
    unknown = subprocess.run([PEAKON_MARTS, "-x"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert unknown.returncode == 2
    assert "No such option: -x" in unknown.stderr
    assert mongo_db.list_collection_names() == []


def test_help_fits_80_columns_names_the_variables_and_shows_flags_without_a_type(tmp_path: Path) -> None:
    env = {**cli_env(None, "mongodb://127.0.0.1:9", "unused"), "COLUMNS": "80"}
    root = run_cli(["--help"], env, tmp_path)
    assert root.returncode == 0
    tail = root.stdout.rstrip().splitlines()[-9:]
    assert tail[0].strip().startswith("Configured by environment variables")
    assert [line.split()[0] for line in tail[1:-1]] == [
        "PEAKON_APP_TOKEN", "PEAKON_BASE_URL", "PEAKON_COMPANY_ID", "MONGO_URI,", "SCHEDULE_CRON,", "LOG_LEVEL,",
        "PEAKON_RUN_TIMEOUT",
    ]  # fmt: skip
    assert "README.md" in tail[-1]
    shown = run_cli(["ingest", "--help"], env, tmp_path)
    assert "--full-sync / --incremental  Refetch everything" in shown.stdout
    for text in (root.stdout, shown.stdout):
        assert "<bool>" not in text
        assert max(map(len, text.splitlines())) <= 80


def test_status_on_an_empty_database_says_what_to_run(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    done = run_cli(["status"], cli_env(None, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == hints.NO_RUNS == "no runs yet: run peakon-ingest ingest"
    assert "recent runs" not in done.stdout


@pytest.mark.parametrize(
    ("cron", "fault"),
    [
        ("0 3 * * 8", "the day-of-week field '8' is not valid"),
        ("61 3 * * 1", "the minute field '61' is not valid"),
        ("0 25 * * 1", "the hour field '25' is not valid"),
        ("0 3 * 13 1", "the month field '13' is not valid"),
        ("0 3 32 * *", "the day-of-month field '32' is not valid"),
        ("0 3 * * 1 1999", "the year field '1999' is not valid"),
        ("99 0 3 * * 1 *", "the second field '99' is not valid"),
        ("0 3 30 2 *", "no time matches all the fields"),
        ("every monday", "2 fields"),
        ("@often", "unknown shorthand '@often'"),
    ],
)
def test_a_bad_schedule_names_the_field_at_fault(tmp_path: Path, cron: str, fault: str) -> None:
    done = run_cli(["status"], cli_env(None, "mongodb://127.0.0.1:9", "unused", SCHEDULE_CRON=cron), tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"peakon-ingest: error: SCHEDULE_CRON: {fault}; expected a cron expression")
    assert done.stderr.endswith(f"(got {cron!r})\n")
    assert done.stderr.count("\n") == 1


def test_a_bad_time_zone_shows_what_it_got_once(tmp_path: Path) -> None:
    done = run_cli(["status"], cli_env(None, "mongodb://127.0.0.1:9", "unused", CRON_TZ="Mars/Olympus"), tmp_path)
    assert done.returncode == 2
    expected = "CRON_TZ: expected an IANA time zone such as Europe/Copenhagen (got 'Mars/Olympus')"
    assert done.stderr == f"peakon-ingest: error: {expected}\n"


def test_a_404_on_the_company_context_names_peakon_company_id(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name, PEAKON_COMPANY_ID="4")
    done = run_cli(["ingest", "--streams", "scores_contexts"], env, tmp_path)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("peakon-ingest: error: run failed: HTTP 404 from /api/v1/scores/contexts/company_4")
    assert last.endswith(": Peakon has no company 4; check PEAKON_COMPANY_ID")


def test_explain_leaves_other_errors_as_they_are() -> None:
    assert hints.explain("HTTP 404 from /api/v1/employees") == "HTTP 404 from /api/v1/employees"
    assert hints.explain("HTTP 500 from /api/v1/scores/contexts/company_4/x").startswith("HTTP 500")
