"""What a run prints: children's lines passed on by their structure, progress per page with a rate,
empty pages summarised, the marts' build announced and timed, and JSON for every line on request."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from pymongo.database import Database

from peakon_ingest.logs import forward
from peakon_ingest.progress import Progress
from tests.cli.helpers import cli_env, run_cli

Db = Database[dict[str, Any]]
CONSOLE = "2026-12-03 12:07:37,782 | {level:8s} | {logger:30s} | {message}"


def console(message: str, level: str = "INFO", logger: str = "tap-peakon") -> str:
    return CONSOLE.format(level=level, logger=logger, message=message)


def shown(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(record.levelname, record.getMessage()) for record in caplog.records]


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_a_traceback_fragment_is_passed_on_only_at_debug(caplog: pytest.LogCaptureFixture, level: int) -> None:
    caplog.set_level(level, logger="peakon_ingest")
    fragment = "    for page in chunks(records, size):  # a traceback's line, with ' page ' in it"
    for line in ("Traceback (most recent call last):", fragment, console("fetching drivers page 2 of many")):
        forward("tap", line, structured=False, progress=Progress())
    forward("tap", console("a warning", level="WARNING"), structured=False, progress=Progress())
    expected = [("WARNING", "tap: a warning")]
    if level == logging.DEBUG:
        expected = [
            ("DEBUG", "tap: Traceback (most recent call last):"),
            ("DEBUG", f"tap: {fragment}"),
            ("DEBUG", "tap: fetching drivers page 2 of many"),  # the page line's format only, matched whole
            *expected,
        ]
    assert shown(caplog) == expected


def test_pages_show_a_running_count_a_rate_and_an_eta_when_the_total_is_known(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="peakon_ingest")
    clock = iter([10.0, 11.0, 12.0, 13.0, 14.0, 20.0]).__next__
    progress = Progress({"employees": 4000}, clock=clock)
    for line in (
        "employees page 1: 1000 records in 1.00s",  # seen at 10.0, so started at 9.0
        "employees page 2: 1000 records in 0.50s",  # 2000 by 11.0: in 2 s
        "answers_export page 1: 500 records in 1.00s",  # started at 11.0, no total
        "scores_by_driver page 1: 0 records in 0.01s",
        "scores_by_driver page 2: 0 records in 0.01s",
    ):
        forward("tap", console(line), structured=False, progress=progress)
    assert shown(caplog) == [
        ("INFO", "tap: employees page 1: 1000 records; 1000 so far, 1,000/s, 25% of 4000, ETA 3 s"),
        ("INFO", "tap: employees page 2: 1000 records; 2000 so far, 1,000/s, 50% of 4000, ETA 2 s"),
        ("INFO", "tap: answers_export page 1: 500 records; 500 so far, 500/s"),
    ]
    assert progress.empty_pages() == ["scores_by_driver: 2 pages with no records"]


def test_a_run_prints_progress_one_line_for_empty_pages_and_the_marts_build(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name)
    run_cli(["ingest", "--streams", "employees"], env, tmp_path)  # records what /employees/count said
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line.split(" INFO ", 1)[-1] for line in done.stderr.splitlines()]
    assert "tap: answers_export page 2: 1000 records; 2000 so far, " in "\n".join(lines)
    employees = [line for line in lines if line.startswith("tap: employees page")]
    assert employees
    assert all(", ETA " in line and " of 250" in line for line in employees)
    assert not [line for line in lines if ": 0 records" in line]
    assert len([line for line in lines if line.startswith("tap: scores_by_driver: ")]) == 1
    assert lines.index("building marts ...") < next(i for i, x in enumerate(lines) if x.startswith("marts built in "))


def test_with_json_logs_every_line_is_json_the_error_included(
    tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Db
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name, LOG_FORMAT="json", PEAKON_COMPANY_ID="4")
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 1
    entries = [json.loads(line) for line in done.stderr.splitlines()]  # every line parses
    last = entries[-1]
    assert (last["level"], last["exit_code"]) == ("ERROR", 1)
    assert last["message"].startswith("peakon-ingest: error: run failed: HTTP 404 from")
    pages = [entry for entry in entries if entry.get("page")]
    assert pages
    assert all({"stream", "records", "so_far", "per_second", "child"} <= set(entry) for entry in pages)
    bad = run_cli(["status"], {**env, "SCHEDULE_CRON": "x"}, tmp_path)  # before logging is set up
    assert (bad.returncode, json.loads(bad.stderr)["exit_code"]) == (2, 2)
