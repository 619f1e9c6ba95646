"""What "the next run repaired it" means, as code."""

from __future__ import annotations

from typing import Any

from peakon_simulator.generator import PeakonData
from pymongo.database import Database

STREAMS = ("answers_export", "employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog")
# Fields that differ between any two runs by design.
PER_RUN = {"fetched_at", "run_id", "first_seen_at", "last_seen_at", "changed_at", "source_url", "table_version"}
Snapshot = dict[str, dict[Any, dict[str, Any]]]


def snapshot(db: Database[dict[str, Any]]) -> Snapshot:
    result: Snapshot = {}
    for name in STREAMS:
        docs = list(db[name].find())
        by_id = {d["_id"]: {k: v for k, v in d.items() if k not in PER_RUN} for d in docs}
        assert len(by_id) == len(docs), f"{name}: duplicate _id"
        result[name] = by_id
    return result


def assert_repaired(db: Database[dict[str, Any]], reference: Snapshot) -> None:
    """Same `_id`s and contents as a clean run, and the bookmark not ahead of the stored answers."""
    current = snapshot(db)
    for name in STREAMS:
        missing = set(reference[name]) - set(current[name])
        extra = set(current[name]) - set(reference[name])
        assert not missing, f"{name}: {len(missing)} missing"
        assert not extra, f"{name}: {len(extra)} unexpected"
        assert current[name] == reference[name], f"{name}: contents differ from a clean run"
    assert_bookmark_not_ahead(db, expected=True)


def assert_bookmark_not_ahead(db: Database[dict[str, Any]], *, expected: bool) -> int:
    """Every answer the API has up to the bookmark is stored (the simulator's ids are known): how
    many that is. With `expected`, a missing bookmark fails; without, there must be none (0)."""
    bookmark = db["sync_state"].find_one({"_id": "answers_export"})
    if not expected:
        assert bookmark is None, f"a bookmark where none was expected: {bookmark}"
        return 0
    assert bookmark is not None, "no answers bookmark where one was expected"
    last = bookmark["last_answer_id"]
    api_has = PeakonData.first_index_after(last)  # answers with an id <= last
    stored = db["answers_export"].count_documents({"_id": {"$lte": last}})
    assert stored == api_has, f"bookmark {last} is ahead: {api_has - stored} answers below it are missing"
    return stored
