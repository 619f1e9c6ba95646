"""The reads of what is published: released marts, the release calendar, runs and the health line.

The one module the web pages read through (`peakon_ingest.web` imports nothing else of the
operator but the settings), and where `export` reads a stored mart: a page's CSV and an export are
the same rows by construction. Nothing here reads raw answers or employees.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pymongo.database import Database

from peakon_ingest.marts.options import PREFIX
from peakon_ingest.marts.people import name_words
from peakon_ingest.marts.release import RELEASE, next_month
from peakon_ingest.run.runs import RUNS
from peakon_ingest.schedule import health

if TYPE_CHECKING:
    import polars as pl

    from peakon_ingest.settings import Settings

Document = dict[str, Any]
Db = Database[Document]
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
# How each mart's rows are ordered in an export and a page's CSV.
ORDER = {
    "org": ["employee_id"],
    "manager_question": ["month", "manager_id", "scope", "question_id"],
    "driver_segment": ["month", "segment", "segment_value", "driver", "sub_driver"],
    "participation": ["month", "department"],
    "release": ["month"],
}
KEYS = {"org": "employee_id", "release": "month"}  # what a mart's `_id` is called in an export
DIGITS = 18  # the longest integer id read as a number (every one fits in 64 bits)
ORG_FIELDS = ("name", "department", "manager_id", "depth", "direct_reports", "total_reports")


def ping(db: Db) -> None:
    """Raises a PyMongoError when MongoDB does not answer."""
    db.command("ping")


# -- stored marts, as export writes them ------------------------------------------------------------
def stored(db: Db, name: str, where: Mapping[str, Any] | None = None) -> list[Document]:
    """The rows of mart `name` (those matching `where`), each keyed as an export names its fields."""
    found = list(db[PREFIX + name].find(dict(where or {}), None if name in KEYS else {"_id": 0}))
    for row in found:
        if name in KEYS:
            row[KEYS[name]] = row.pop("_id")
    return found


def frame(rows: Iterable[Document], name: str) -> pl.DataFrame:
    """Rows as a table in export order."""
    import polars as pl  # noqa: PLC0415 - Polars only where a table is built

    table = pl.DataFrame(list(rows), infer_schema_length=None)
    order = [column for column in ORDER[name] if column in table.columns]
    return table.sort(order, nulls_last=False) if order else table


def csv(table: pl.DataFrame) -> bytes:
    """CSV has no lists: a chain or a path becomes its JSON text."""
    import json  # noqa: PLC0415

    import polars as pl  # noqa: PLC0415

    lists = [name for name, kind in table.schema.items() if isinstance(kind, pl.List)]
    return (
        table.with_columns(
            pl.col(name).map_elements(lambda v: json.dumps(list(v)), return_dtype=pl.String) for name in lists
        )
        .write_csv()
        .encode()
    )


# -- the release calendar ---------------------------------------------------------------------------
def released(db: Db) -> list[str]:
    """The months in `mart_release` (official: every mart shows them), oldest first."""
    return sorted(str(doc["_id"]) for doc in db[RELEASE].find({}, {"_id": 1}))


def calendar(db: Db) -> list[Document]:
    return [
        {"month": str(doc["_id"]), **{k: v for k, v in doc.items() if k != "_id"}}
        for doc in sorted(db[RELEASE].find(), key=lambda doc: str(doc["_id"]))
    ]


def next_due(latest: str | None, grace_days: int, today: dt.date) -> tuple[str, dt.date]:
    """The next month to be released and the day it is due (`grace_days` after it ends)."""
    month = next_month(latest) if latest else f"{today:%Y-%m}"
    after = next_month(month)
    return month, dt.date(int(after[:4]), int(after[5:]), 1) + dt.timedelta(days=grace_days)


# -- figures ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Score:
    """A sum of published rows: each a sum of whole atoms, so the sum is one too."""

    answers: int
    score_sum: float
    promoters: int
    detractors: int
    rows: int

    @property
    def mean(self) -> float:
        return round(self.score_sum / self.answers, 2)

    @property
    def nps(self) -> int:
        return round(100 * (self.promoters - self.detractors) / self.answers)


def summed(rows: Iterable[Mapping[str, Any]]) -> Score | None:
    rows = list(rows)
    if not rows or not (answers := sum(int(row["answers"]) for row in rows)):
        return None
    return Score(
        answers,
        sum(float(row["score_sum"]) for row in rows),
        sum(int(row["promoters"]) for row in rows),
        sum(int(row["detractors"]) for row in rows),
        len(rows),
    )


def segments_of(db: Db, month: str) -> list[Document]:
    return stored(db, "driver_segment", {"month": month})


def company(db: Db, months: Iterable[str]) -> dict[str, Score | None]:
    """Per month, every driver's figures over the first segment's values (departments: disjoint, so
    their rows add up without counting an answer twice). Each month's first segment is the one it
    was released with."""
    found: dict[str, list[Document]] = {month: [] for month in months}
    first: dict[str, list[str]] = {}
    for doc in db[RELEASE].find({"_id": {"$in": list(found)}}, {"segments": 1}):
        if doc.get("segments"):
            first.setdefault(str(doc["segments"][0]), []).append(str(doc["_id"]))
    for segment, chosen in first.items():
        for row in db[PREFIX + "driver_segment"].find({"month": {"$in": chosen}, "segment": segment}, {"_id": 0}):
            if len(row.get("path") or []) == 1 and row["month"] in found:
                found[row["month"]].append(row)
    return {month: summed(rows) for month, rows in found.items()}


def participation(db: Db) -> list[Document]:
    return stored(db, "participation")


def drivers(db: Db, month: str) -> list[str]:
    """The drivers of the month's published rows (read from the segments' rows: far fewer than the
    managers', and a driver published for a manager is published for the whole company too)."""
    names = {row.get("driver") for row in db[PREFIX + "driver_segment"].find({"month": month}, {"driver": 1})}
    return sorted(name for name in names if isinstance(name, str))


# -- the org chart ----------------------------------------------------------------------------------
def key(text: str) -> int | str:
    """An employee id as stored: Peakon's are integers, pseudonyms are text."""
    return int(text) if text.isdigit() and len(text) <= DIGITS else text


def employee(db: Db, employee_id: str) -> Document | None:
    rows = stored(db, "org", {"_id": key(employee_id)})
    return rows[0] if rows else None


def children(db: Db, manager_id: str | None) -> list[Document]:
    """The employees under `manager_id` (None: the tops of the chart), managers first, then by name."""
    where: Document = {"manager_id": key(manager_id)} if manager_id is not None else {"depth": 0}
    fields = dict.fromkeys(ORG_FIELDS, 1)
    rows = [{"employee_id": doc.pop("_id"), **doc} for doc in db[PREFIX + "org"].find(where, fields)]
    return sorted(
        rows, key=lambda row: (-int(row.get("total_reports") or 0), str(row.get("name") or row["employee_id"]))
    )


def search(db: Db, text: str, limit: int = 20) -> list[Document]:
    """Employees with a word of their name starting with each word of `text` (any case: "an smi"
    finds Anna Smith), or whose id it is. The longest word is a prefix range over the indexed
    `name_words` (an `$and` of several makes the embedded server scan), the others are checked here;
    the text is compared, never run as a pattern."""
    typed = sorted(name_words(text), key=len, reverse=True)
    fields = {"name": 1, "department": 1, "chain": 1, "name_words": 1}
    found: list[Document] = []
    if typed:
        where = {"name_words": {"$elemMatch": {"$gte": typed[0], "$lt": successor(typed[0])}}}
        cursor = db[PREFIX + "org"].find(where, fields)
        for doc in cursor.limit(limit) if len(typed) == 1 else cursor:
            words = doc.pop("name_words", None) or []
            if all(any(word.startswith(prefix) for word in words) for prefix in typed[1:]):
                found.append({"employee_id": doc.pop("_id"), **doc})
            if len(found) == limit:
                break
    exact = employee(db, text)
    if exact is not None and all(row["employee_id"] != exact["employee_id"] for row in found):
        found.insert(0, {name: exact.get(name) for name in ("employee_id", "name", "department", "chain")})
    return found[:limit]


def successor(prefix: str) -> str:
    """The first text after every text that starts with `prefix` (code point order, as MongoDB's)."""
    return prefix[:-1] + chr(min(ord(prefix[-1]) + 1, sys.maxunicode))


def team_scores(db: Db, month: str, driver: str, managers: Iterable[Any]) -> dict[str, Score | None]:
    """Per manager of `managers`, the team's figures for `driver` in `month` (none: hidden)."""
    by_manager: dict[str, list[Document]] = {}
    query = {"manager_id": {"$in": list(managers)}, "month": month, "driver": driver, "scope": "team"}
    for row in db[PREFIX + "manager_question"].find(query, {"_id": 0}):
        by_manager.setdefault(str(row["manager_id"]), []).append(row)
    return {manager: summed(rows) for manager, rows in by_manager.items()}


def manager_rows(db: Db, manager_id: str) -> list[Document]:
    return stored(db, "manager_question", {"manager_id": key(manager_id)})


# -- runs and health --------------------------------------------------------------------------------
def run_line(run: Mapping[str, Any]) -> str:
    """A run's status, completeness and schema drift in one line."""
    from peakon_ingest.report import completeness_line  # noqa: PLC0415 - Rich only where it is used

    when = run.get("finished_at") or run.get("started_at")
    return (
        f"{run.get('status')} at {when:%Y-%m-%d %H:%M} UTC; {completeness_line(run)}"
        if when
        else str(run.get("status"))
    )


def runs(db: Db, limit: int = 50) -> list[Document]:
    """The latest runs, newest first, each as a row of the runs table."""
    from peakon_ingest.report import completeness_line  # noqa: PLC0415 - Rich only where it is used

    rows = []
    for run in db[RUNS].find().sort("started_at", -1).limit(limit):
        counts = run.get("counts") or {}
        rows.append({
            "started": f"{run['started_at']:%Y-%m-%d %H:%M}" if run.get("started_at") else "",
            "mode": run.get("mode"), "seconds": run.get("duration_seconds"), "status": run.get("status"),
            "received": sum(int(c.get("records", 0)) for c in counts.values() if isinstance(c, Mapping)),
            "written": sum(int(c.get("inserted", 0)) + int(c.get("changed", 0))
                           for c in counts.values() if isinstance(c, Mapping)),
            "removed": sum(int(c.get("removed", 0)) for c in counts.values() if isinstance(c, Mapping)),
            "retries": run.get("retries", 0), "completeness": completeness_line(run).split("; schema drift")[0],
            "drift": "; ".join(f"{s}: {', '.join(f)}" for s, f in (run.get("schema_drift") or {}).items()),
            "error": run.get("error") or run.get("marts_error") or "",
        })  # fmt: skip
    return rows


def last_run(db: Db) -> Document | None:
    return health.last_finished(db)


def health_line(db: Db, settings: Settings, moment: dt.datetime) -> tuple[bool, str]:
    """What `status --check` prints."""
    return health.check(db, settings.schedule(), dt.timedelta(seconds=settings.health_grace_seconds), moment)
