"""The CLI's tables at 80 columns: every header whole, no column squeezed to nothing, and a failed
run's error in full under the table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pymongo.database import Database

from tests.cli.helpers import cli_env, run_cli

Db = Database[dict[str, Any]]
HEADERS = ("run", "started (UTC)", "status", "mode", "secs", "written", "reqs", "retries")
ERROR = (
    "HTTP 404 from /api/v1/scores/contexts/company_5/group/accomplishment (request id 5f0c2a9e-1b7d-4c39-9d2e"
    "-0a6f3b8c7d21): Peakon has no company 5; check PEAKON_COMPANY_ID; and the rest of a long message that "
    "does not fit on one line of eighty columns, nor on two"
)


def test_runs_at_80_columns_keeps_every_column_and_prints_a_long_error_in_full(
    tmp_path: Path, mongo_uri: str, mongo_db: Db
) -> None:
    started = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    mongo_db["ingestion_runs"].insert_many([
        {"_id": "67bc6211-dc26-4678-9019-d647f0c8a67e", "started_at": started, "status": "failure",
         "mode": "incremental", "duration_seconds": 12345.6, "requests": 123456, "retries": 12, "error": ERROR,
         "counts": {"answers_export": {"inserted": 1234567, "changed": 5}}},
        {"_id": "0a1b2c3d-0000-0000-0000-000000000000", "started_at": started - dt.timedelta(days=7),
         "status": "success", "mode": "full", "duration_seconds": 3.5, "requests": 9, "retries": 0, "counts": {}},
    ])  # fmt: skip
    done = run_cli(["runs"], {**cli_env(None, mongo_uri, mongo_db.name), "COLUMNS": "80"}, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.startswith("run "))
    assert [h.strip() for h in header.split("  ") if h.strip()] == list(HEADERS)
    assert "…" not in done.stdout
    row = next(line for line in lines if line.startswith("67bc6211"))
    assert row.split() == ["67bc6211", "12-03", "12:00", "failure", "incr", "12345.6", "1234572", "123456", "12"]
    under = " ".join(lines[lines.index(row) :]).split("run 67bc6211 failure: ", 1)[1]
    assert " ".join(under.split()) == " ".join(ERROR.split())  # whole, only wrapped
    assert "run 0a1b2c3d" not in done.stdout  # a run without an error adds no line
