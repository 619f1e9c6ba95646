"""What is published, as figures for the auditor: the release layer's `explain` where it exists
(`peakon_ingest.marts.release`), else today's marts with each row's members worked out by oracle
(`figures_from_today`). The same tests run on both; `NEW_LAYER` says which one they run on."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import inspect
from collections.abc import Iterable
from typing import Any

from pymongo.database import Database

from peakon_ingest.marts.options import PREFIX, Options
from tests.marts import oracle
from tests.marts.audit import RELEASE, TODAY, Figure, FigureLike, Raw, Rules

Db = Database[dict[str, Any]]
SEGMENTS = ("Department", "Sub-Department")
NEW_LAYER = importlib.util.find_spec("peakon_ingest.marts.release") is not None
RULES: Rules = RELEASE if NEW_LAYER else TODAY


def build(db: Db, k: int, now: dt.datetime, segments: tuple[str, ...] = SEGMENTS) -> dict[str, Any]:
    """The real build, in-process; `now` where it takes one (today's publishes every month at once)."""
    from peakon_ingest.marts.build import build as real  # noqa: PLC0415 - the module under test, as it is

    options = Options(min_respondents=k, segments=segments)
    if "now" in inspect.signature(real).parameters:
        return real(db, options, lambda: None, now=now)  # type: ignore[call-arg,unused-ignore]
    return real(db, options, lambda: None)


def figures(
    db: Db, ranges: Iterable[tuple[str, str]] = (), k: int = 5, segments: tuple[str, ...] = SEGMENTS
) -> list[FigureLike]:
    """Every published figure, plus `ranges` as `export --from/--to` computes them (with threshold
    `k`: the release layer knows the one it published with)."""
    if NEW_LAYER:
        release: Any = importlib.import_module("peakon_ingest.marts.release")
        return list(release.explain(db, list(ranges)))
    return figures_from_today(db, ranges, k, segments)


def figures_from_today(
    db: Db, ranges: Iterable[tuple[str, str]] = (), k: int = 5, segments: tuple[str, ...] = SEGMENTS
) -> list[FigureLike]:
    """Today's marts (and ranged exports, computed as `export` does) with members per oracle: the
    whole group each row stands for."""
    from peakon_ingest.marts.build import load, span  # noqa: PLC0415 - today's range export, as `export` runs it
    from peakon_ingest.marts.compute import compute  # noqa: PLC0415

    raw = Raw.read(db, segments)
    found: list[FigureLike] = []
    periods: list[tuple[list[dict[str, Any]], list[dict[str, Any]], Any]] = [
        (
            list(db[PREFIX + "manager_question"].find({}, {"_id": 0})),
            list(db[PREFIX + "driver_segment"].find({}, {"_id": 0})),
            oracle.monthly,
        )
    ]
    options = Options(min_respondents=k, segments=segments)
    answers, org = load(db)
    for first, last in ranges:
        rows = {name: mart.rows for name, mart in compute(answers, org, options, [span(first, last, answers)]).items()}

        def period(month: str, first: str = first, last: str = last) -> tuple[str, str] | None:
            return (f"{first}..{last}", last) if first <= month <= last else None

        periods.append((rows["manager_question"], rows["driver_segment"], period))
    for managers, segments_rows, period in periods:
        groups = oracle.manager_groups(raw.world, raw.attributes, period)
        for row in managers:
            name = (row["month"], oracle.key(row["question_id"]), row["scope"], oracle.key(row["manager_id"]))
            found.append(Figure("manager_question", row, frozenset(groups[name].ids)))
        by_path = oracle.segment_groups(raw.world, raw.attributes, raw.catalog, segments, period)
        for row in segments_rows:
            name = (row["month"], row["driver"], row["sub_driver"], tuple(row["path"]))
            found.append(Figure("driver_segment", row, frozenset(by_path[name].ids)))
    members = oracle.participation_members(raw.world, raw.attributes, segments[0], raw.history_start)
    for row in db[PREFIX + "participation"].find({}, {"_id": 0}):
        employed, answered = members[(row["month"], row["department"])]
        found.append(Figure("participation", row, frozenset(employed), frozenset(answered)))
    return found
