"""ALERT_WEBHOOK_URL: a POST after a failed run, and after the first success that follows one.

The body is JSON with a Slack-compatible `text` and the run's id, status, error, counts and duration;
nothing secret (run documents hold none). Short timeouts; an alert that cannot be delivered is
logged and recorded on the run, never a reason for the run to fail.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.database import Database

from peakon_ingest.run.runs import RUNS, aware
from peakon_ingest.schedule.health import failed, last_finished
from peakon_ingest.settings import Settings

log = logging.getLogger("peakon_ingest")
TIMEOUT = (3.0, 5.0)  # connect, read: an alert never holds a run up for long


def payload(run: dict[str, Any], *, recovered: bool) -> dict[str, Any]:
    name = str(run["_id"])[:8]
    if recovered:
        text = f"peakon-ingest: run {name} succeeded again after a failed run"
    else:
        text = f"peakon-ingest: run {name} ended {run.get('status')}: {run.get('error') or run.get('marts_error')}"
    return {
        "text": text,
        "run_id": run["_id"],
        "status": run.get("status"),
        "recovered": recovered,
        "error": run.get("error") or run.get("marts_error"),
        "counts": run.get("counts") or {},
        "duration_seconds": run.get("duration_seconds"),
    }


def after_run(db: Database[dict[str, Any]], settings: Settings, run: dict[str, Any]) -> None:
    """Alert on a failure, or on a recovery; record on the run whether the alert was delivered."""
    if settings.alert_webhook_url is None:
        return
    previous = last_finished(db, before=aware(run.get("started_at")))
    recovered = not failed(run) and previous is not None and failed(previous)
    if not failed(run) and not recovered:
        return
    outcome: dict[str, Any] = {"sent": True, "recovered": recovered}
    import requests  # noqa: PLC0415 - here: most runs send nothing, and every CLI start would pay the import

    try:
        reply = requests.post(settings.alert_webhook_url.get_secret_value(), json=payload(run, recovered=recovered),
                              timeout=TIMEOUT)  # fmt: skip
        reply.raise_for_status()
    except requests.RequestException as err:
        status = getattr(err.response, "status_code", None)
        outcome = {
            "sent": False,
            "recovered": recovered,
            "error": f"{type(err).__name__}{f' {status}' if status else ''}",
        }
        log.warning("the alert for run %s was not delivered (%s)", run["_id"], outcome["error"])
    db[RUNS].update_one({"_id": run["_id"]}, {"$set": {"alert": outcome}})
