"""`peakon-ingest status --check`: healthy when the last ingest succeeded and the next is not overdue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.database import Database

from peakon_ingest.run.runs import INGEST_MODES, RUNS, aware
from peakon_ingest.schedule.cron import Schedule


def last_finished(db: Database[dict[str, Any]], before: dt.datetime | None = None) -> dict[str, Any] | None:
    """The latest ingest run that has ended (a marts rebuild or a run still going is not one)."""
    runs = db[RUNS].find({"mode": {"$in": list(INGEST_MODES)}}).sort("started_at", -1)
    for run in runs:
        started = aware(run.get("started_at"))
        if run.get("status") != "running" and (before is None or (started is not None and started < before)):
            return run
    return None


def failed(run: dict[str, Any]) -> bool:
    return run.get("status") != "success" or bool(run.get("marts_error"))


def check(
    db: Database[dict[str, Any]], schedule: Schedule, grace: dt.timedelta, moment: dt.datetime
) -> tuple[bool, str]:
    """(healthy, one line saying why)."""
    run = last_finished(db)
    if run is None:
        return False, "no ingest has finished yet"
    name = str(run["_id"])[:8]
    if failed(run):
        return False, f"the last run {name} ended {run.get('status')}: {run.get('error') or run.get('marts_error')}"
    finished = aware(run.get("finished_at")) or moment
    allowed = schedule.interval(finished) + grace
    when = f"{finished:%Y-%m-%d %H:%M} UTC"
    if moment - finished > allowed:
        return (
            False,
            f"overdue: the last run {name} succeeded at {when}; runs are {allowed - grace} apart",
        )
    return (
        True,
        f"ok: the last run {name} succeeded at {when}; next {schedule.after(moment).isoformat()}",
    )
