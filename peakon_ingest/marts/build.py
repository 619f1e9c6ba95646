"""Build every mart from what is stored, and publish each whole; or compute a range for an export."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pymongo.database import Database

from peakon_ingest.marts import store
from peakon_ingest.marts.answers import Answers, read
from peakon_ingest.marts.compute import Mart, Org, Period, compute
from peakon_ingest.marts.options import NAMES, PREFIX, Options
from peakon_ingest.marts.people import Staff

log = logging.getLogger("peakon_ingest")


def prepare(
    employees: Iterable[Mapping[str, Any]],
    history: Iterable[Mapping[str, Any]],
    answers: Iterable[Mapping[str, Any]],
    catalog: Mapping[str, tuple[str | None, str | None]],
) -> tuple[Answers, Org]:
    """The marts' inputs from stored documents (`answers`: each answer's attributes)."""
    org = Org(Staff.load(employees, history), catalog)
    return read(answers, org.boundaries), org


def load(db: Database[dict[str, Any]]) -> tuple[Answers, Org]:
    return prepare(store.employees(db), store.history(db), store.answers(db), store.catalog(db))


def build(
    db: Database[dict[str, Any]], options: Options, heartbeat: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """Rebuild the marts; per mart: rows, groups suppressed (below the threshold, and to protect a
    published parent from subtraction), seconds (computing and writing it). Reading the answers, which
    every mart shares, is `read_seconds`."""
    started = time.monotonic()
    answers, org = load(db)
    report: dict[str, Any] = {"read_seconds": round(time.monotonic() - started, 3), "answers_skipped": answers.skipped}
    heartbeat()
    staging = {name: store.Staging(db, name) for name in NAMES}

    def sink(name: str) -> Callable[[list[dict[str, Any]]], None]:
        def write(rows: list[dict[str, Any]]) -> None:
            staging[name].append(rows)
            heartbeat()

        return write

    marts = compute(answers, org, options, sinks={name: sink(name) for name in NAMES})
    for name, mart in marts.items():
        with mart.timed():
            staging[name].publish()
        report[name] = summary(mart)
        log.info("%s%s: %d rows, %d groups suppressed", PREFIX, name, mart.count, report[name]["suppressed"])
    report["seconds"] = round(time.monotonic() - started, 3)
    return report


def summary(mart: Mart) -> dict[str, Any]:
    return {
        "rows": mart.count,
        "suppressed": mart.below_threshold + mart.complementary,
        "suppressed_below_threshold": mart.below_threshold,
        "suppressed_complementary": mart.complementary,
        "seconds": round(mart.seconds, 3),
    }


def span(first: str | None, last: str | None, answers: Answers) -> Period:
    """The range to export: the answers' first or last month where one end is not given."""
    present = sorted(answers.frame["month"].unique().to_list())
    return Period(first or (present[0] if present else "0000-01"), last or (present[-1] if present else "9999-12"))


def ranged(db: Database[dict[str, Any]], name: str, options: Options, first: str | None, last: str | None) -> Mart:
    """Mart `name` over one month range, from the answers, under the same rules."""
    answers, org = load(db)
    period = span(first, last, answers)
    return compute(answers, org, options, [period])[name]
