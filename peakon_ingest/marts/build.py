"""Build the marts from what is stored: the org chart now, and the months that became due, audited
before anything is published; or sum a range of released months for an export."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pymongo.database import Database

from peakon_ingest.marts import atoms, release, store
from peakon_ingest.marts.answers import Answers, read
from peakon_ingest.marts.compute import FIGURES, ORG_FIELDS_VERSION, Builder, Org, Released
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
    store.read_indexes(db)
    due = release.Due(state, release.last_due(now, options.grace_days), store.stored(db))
    shape = f"{store.staff_stamp(db)} {options.segments} {options.pseudonymous} {ORG_FIELDS_VERSION}"
    stamp = hashlib.sha256(shape.encode()).hexdigest()
    org: Org | None = None
    changed = stamp != state.staff or PREFIX + "org" not in db.list_collection_names()  # mart_org is rebuilt
    pending = due(unreleased(db, state))
    first = next(pending, None)  # an answer of a month to release, if there is one
    if changed or first is not None:
        org = Org(Staff.load(store.employees(db), store.history(db)), store.catalog(db))
        state.known = release.attributes(org.staff)
    release.check_segments(state.known, options.segments)  # the staff as last read when it has not changed
    log.info("building marts ...")  # after the check: a setting that does not fit is the one line said
    answers = read(itertools.chain([first] if first else [], pending), org.boundaries if org else [])
    report: dict[str, Any] = {
        "read_seconds": round(time.monotonic() - started, 3),
        "answers_read": due.read,
        "answers_skipped": answers.skipped,
    }
    heartbeat()
    months = answers.frame["month"].unique().sort().to_list()  # `due` let through only the months to release
    timed = time.monotonic()
    builder = Builder(answers, org, options) if org else None
    released = builder.released(months) if builder and months else None
    k = options.min_respondents
    coverage = publish(db, state, released, heartbeat, k, lambda new: state.keep(db, new, due, now))
    timings = dict.fromkeys(FIGURES, time.monotonic() - timed)
    timed = time.monotonic()
    if builder and changed:  # else the staff and the options are as mart_org was built from
        staging = store.Staging(db, "org")
        staging.append(builder.org_rows())
        staging.publish()
        state.staff = stamp
    timings["org"] = time.monotonic() - timed
    state.record(db, coverage, options, due, now)
    for name in ("org", *FIGURES):
        rows = db[PREFIX + name].count_documents({})
        report[name] = {"rows": rows, "seconds": round(timings.get(name, 0.0), 3)}
        log.info("%s%s: %d rows", PREFIX, name, rows)
    report |= {"released": list(coverage), "late_answers": due.late, "coverage": state.coverage()}
    report["seconds"] = round(time.monotonic() - started, 3)
    return report


def unreleased(db: Database[dict[str, Any]], state: release.State) -> Iterator[dict[str, Any]]:
    """The answers a build reads: every one for the first release; after it, those answered after the
    latest released month (a range of an index: released months are never read again)."""
    if state.frontier is None:
        return store.answers(db)
    return store.answered_since(db, release.next_month(state.frontier))


def existing(db: Database[dict[str, Any]]) -> None:
    """Every figures mart exists, if empty, for the analysts' tools."""
    present = db.list_collection_names()
    for name in FIGURES:
        if PREFIX + name not in present:
            db.create_collection(PREFIX + name)


def publish(
    db: Database[dict[str, Any]],
    state: release.State,
    months: Iterable[tuple[str, Released]] | None,
    heartbeat: Callable[[], None],
    k: int,
    keep: Callable[[dict[str, dict[str, int]]], None],
) -> dict[str, dict[str, int]]:
    """Each month's rows appended, after the released ones, to each figures mart built aside, as the
    month passes its audit; then every mart renamed over the old one. The coverage counts of the
    months published. A month failing its audit: nothing published, `AuditError` counting the
    violations of every month."""
    if months is None:
        existing(db)
        return {}
    stagings = {}
    for name in FIGURES:
        kept = list(db[PREFIX + name].find({"month": {"$in": state.closed}}, {"_id": 0}))
        stagings[name] = store.Staging(db, name)
        stagings[name].append(kept)  # the released months' rows, as they were
    coverage, problems = {}, []
    for month, released in months:
        found = atoms.audit(released.table, k, released.figures)
        problems += [f"{month}: {problem}" for problem in found]
        if not problems:  # after a failure the other months are audited, never written
            for name, staging in stagings.items():
                staging.append(released.rows[name])
        coverage[month] = released.coverage
        heartbeat()
    if problems:
        for staging in stagings.values():
            staging.discard()
        msg = f"the release audit found {len(problems)} violations ({'; '.join(problems[:3])}): nothing new published"
        raise AuditError(msg)
    keep(coverage)  # closed for good before any mart shows them: a build stopped between two renames
    for staging in stagings.values():  # leaves them released, never to be built again from newer answers
        staging.publish()
    return coverage
