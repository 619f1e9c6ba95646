"""Did the run get everything Peakon has? Checked where the API offers a count; a mismatch is a
warning on the run (`completeness`), never a failure: the data stored is still right as far as it goes."""

from __future__ import annotations

import logging
from typing import Any

from pymongo.database import Database
from tap_peakon.contract import TapSummary

log = logging.getLogger("peakon_ingest")


def check(db: Database[dict[str, Any]], tap_summary: TapSummary) -> dict[str, dict[str, Any]]:
    """Per stream: what Peakon says it has against what is stored, with `ok`."""
    found: dict[str, dict[str, Any]] = {}
    expected = tap_summary["expected"].get("employees")
    if isinstance(expected, int):  # employees were read whole in this run
        stored = db["employees"].count_documents({"removed_at": None})
        found["employees"] = {"expected": expected, "stored": stored, "ok": stored == expected}
    reached = tap_summary["answers_reached"]
    if isinstance(reached, int):  # the export reached new answers in this run
        newest = next(iter(db["answers_export"].find({}, {"_id": 1}).sort("_id", -1).limit(1)), None)
        stored_max = newest["_id"] if newest else None
        found["answers_export"] = {"reached": reached, "stored": stored_max, "ok": stored_max == reached}
    for stream, result in found.items():
        if not result["ok"]:
            have = result.get("expected", result.get("reached"))
            log.warning("completeness: %s: Peakon counts %s, %s stored", stream, have, result["stored"])
    return found
