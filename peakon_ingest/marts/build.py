"""Build the marts from what is stored: the org chart now, and the months that became due, audited
before anything is published; or sum a range of released months for an export."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pymongo.database import Database

from peakon_ingest.marts import atoms, release, store
from peakon_ingest.marts.answers import Answers, read
from peakon_ingest.marts.compute import FIGURES, Org, compute
from peakon_ingest.marts.options import PREFIX, Options
from peakon_ingest.marts.people import Staff

log = logging.getLogger("peakon_ingest")


class AuditError(RuntimeError):
    """What was about to be published failed the release audit: nothing new was published."""


def prepare(
    employees: Iterable[Mapping[str, Any]],
    history: Iterable[Mapping[str, Any]],
    answers: Iterable[Mapping[str, Any]],
    catalog: Mapping[str, tuple[str | None, str | None]],
) -> tuple[Answers, Org]:
    """The marts' inputs from stored documents (`answers`: each answer's attributes)."""
    org = Org(Staff.load(employees, history), catalog)
    return read(answers, org.boundaries), org


def build(
    db: Database[dict[str, Any]],
    options: Options,
    heartbeat: Callable[[], None] = lambda: None,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Rebuild the org chart and release the months due by `now` (default: the clock) that are not
    released yet, reading only their answers. Per mart: rows and seconds; `released` (months),
    `late_answers` (stored since the last build for months already released: never published) and
    `coverage` (over every released month)."""
    started = time.monotonic()
    now = now or dt.datetime.now(dt.UTC)
    state = release.State.load(db)
    frontier = state.frontier
    watermark = release.newest_answer(db)
    org = Org(Staff.load(store.employees(db), store.history(db)), store.catalog(db))
    release.check_segments(org.staff, options.segments)
    due = release.Due(frontier, release.last_due(now, options.grace_days))
    if frontier is None:  # the first release: every answer (a filter would make the server scan them)
        stored = store.answers(db)
    elif (first := release.next_month(frontier)) <= due.due:  # months to release, and what came since
        stored = store.answers(db, first, release.next_month(due.due), newer_than=state.watermark)
    else:  # nothing can be due: what came since, to count the late answers
        stored = store.answers(db, newer_than=state.watermark) if state.watermark is not None else iter(())
    answers = read(due(stored), org.boundaries)
    report: dict[str, Any] = {
        "read_seconds": round(time.monotonic() - started, 3),
        "answers_read": answers.frame.height + answers.skipped,  # scored ones (the others are not kept)
        "answers_skipped": answers.skipped,
    }
    heartbeat()
    months = [
        m for m in answers.frame["month"].unique().sort().to_list() if (not frontier or m > frontier) and m <= due.due
    ]
    computed = compute(answers, org, options, months)
    heartbeat()
    problems = [
        p
        for month in computed.months.values()
        for p in atoms.audit(month.table, options.min_respondents, month.figures)
    ]
    if problems:
        msg = f"the release audit found {len(problems)} violations ({'; '.join(problems[:3])}): nothing new published"
        raise AuditError(msg)
    timings = {}
    if computed.months:
        for name in FIGURES:
            timed = time.monotonic()
            kept = list(db[PREFIX + name].find({"month": {"$in": sorted(state.released)}}, {"_id": 0}))
            staging = store.Staging(db, name)
            staging.append(kept)  # the released months' rows, as they were
            for month in computed.months.values():
                staging.append(month.rows[name])
                heartbeat()
            staging.publish()
            timings[name] = time.monotonic() - timed
    for name in FIGURES:  # every mart exists, if empty, for the analysts' tools
        if PREFIX + name not in db.list_collection_names():
            db.create_collection(PREFIX + name)
    timed = time.monotonic()
    staging = store.Staging(db, "org")
    staging.append(computed.org)
    staging.publish()
    timings["org"] = time.monotonic() - timed
    coverage = {month: released.coverage for month, released in computed.months.items()}
    state.record(db, coverage, options, watermark, now)
    for name in ("org", *FIGURES):
        rows = db[PREFIX + name].count_documents({})
        report[name] = {"rows": rows, "seconds": round(timings.get(name, 0.0), 3)}
        log.info("%s%s: %d rows", PREFIX, name, rows)
    report |= {"released": list(computed.months), "late_answers": due.late, "coverage": state.coverage()}
    report["seconds"] = round(time.monotonic() - started, 3)
    return report
