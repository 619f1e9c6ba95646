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
from tests.marts.audit import ANSWER_MARTS, RELEASE, TODAY, Figure, FigureLike, Raw, Rules, employed, group

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
    """Today's marts (and ranged exports, computed as `export` does) with members by the auditor's
    rules: the whole group each row stands for (today's rows leave no answer of a group out)."""
    # Today's range export, as `export` runs it; looked up by name, as the release layer has none.
    today: Any = importlib.import_module("peakon_ingest.marts.build")
    compute: Any = importlib.import_module("peakon_ingest.marts.compute").compute
    raw = Raw.read(db, segments)
    rows = [(name, row) for name in ANSWER_MARTS for row in db[PREFIX + name].find({}, {"_id": 0})]
    if ranges:
        options = Options(min_respondents=k, segments=segments)
        answers, org = today.load(db)
        for first, last in ranges:
            marts = compute(answers, org, options, [today.span(first, last, answers)])
            rows += [(name, row) for name in ANSWER_MARTS for row in marts[name].rows]
    found: list[FigureLike] = [Figure(name, row, group(name, row, raw, TODAY)) for name, row in rows]
    found += [
        Figure("participation", row, *employed(row["month"], row["department"], raw, TODAY))
        for row in db[PREFIX + "participation"].find({}, {"_id": 0})
    ]
    return found
