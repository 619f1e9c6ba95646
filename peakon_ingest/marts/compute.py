"""The marts, computed in-process from plain reads (so every MongoDB-compatible server gives the
same result): the org chart, manager and segment figures per period, and participation.

Rules (README "Analytics marts"): an answer's manager is the employee's manager in the version of
their record valid when they answered (the earliest version if the answer predates the history);
`team` groups follow the org chart as it stood at the end of the period. Figures: respondents are
distinct employees among scored answers, `score_mean` their mean to 2 decimals, `nps` the rounded
percentage of 9-10 scores minus 0-6 scores.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from peakon_ingest.marts.answers import Answers
from peakon_ingest.marts.options import Options
from peakon_ingest.marts.people import Chart, Key, Staff, Version, epoch_of
from peakon_ingest.marts.suppression import EMP, NODE, PARENT, RANK, SLICE, Suppressed, publishable

RANGED = ("manager_question", "driver_segment")  # the marts an export can aggregate over a month range
PROMOTER, DETRACTOR = 9, 6  # 9-10 promote, 0-6 detract


@dataclass(frozen=True)
class Period:
    """A month (`2026-03`) or a range of months (`2026-01..2026-06`)."""

    first: str
    last: str

    @property
    def label(self) -> str:
        return self.first if self.first == self.last else f"{self.first}..{self.last}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.strptime(self.first, "%Y-%m").replace(tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        year, month = map(int, self.last.split("-"))
        return dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)

    def holds(self) -> pl.Expr:
        return pl.col("month").is_between(pl.lit(self.first), pl.lit(self.last))


Sink = Callable[[list[dict[str, Any]]], None]


@dataclass
class Mart:
    """A mart's rows (kept, or handed to `sink` as each period is done: a million answers' marts
    need not sit in memory), its suppressed groups, and the seconds spent on it."""

    sink: Sink | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    below_threshold: int = 0
    complementary: int = 0
    seconds: float = 0.0

    def add(self, rows: Iterable[dict[str, Any]], suppressed: Suppressed) -> None:
        batch = list(rows)
        if self.sink is None:
            self.rows.extend(batch)
        else:
            self.sink(batch)
        self.count += len(batch)
        self.below_threshold += suppressed.below_threshold
        self.complementary += suppressed.complementary

    @contextmanager
    def timed(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds += time.monotonic() - started


@dataclass
class Org:
    """The staff over time: which chart held at which epoch (between two history boundaries)."""

    staff: Staff
    catalog: Mapping[str, tuple[str | None, str | None]]  # category id -> (driver, sub-driver)
    _charts: dict[int, Chart] = field(default_factory=dict)

    @cached_property
    def boundaries(self) -> list[dt.datetime]:
        return self.staff.boundaries()

    def epoch(self, moment: dt.datetime) -> int:
        return epoch_of(self.boundaries, moment)

    def version(self, key: Key, epoch: int) -> Version | None:
        if key not in self.staff.versions:
            return None
        return self.staff.at(key, self.boundaries[epoch - 1]) if epoch else self.staff.versions[key][0]

    def chart(self, epoch: int) -> Chart:
        if epoch not in self._charts:
            versions = {key: self.version(key, epoch) for key in self.staff.versions}
            self._charts[epoch] = Chart.of({key: v.manager if v else None for key, v in versions.items()})
        return self._charts[epoch]

    def at_end(self, period: Period) -> int:
        return self.epoch(period.end - dt.timedelta(microseconds=1))

    def label(self, key: Key) -> Version:
        """The version that names an employee now: the current one, else their last."""
        return self.staff.current.get(key) or self.staff.versions[key][-1]


def figures(rows: pl.DataFrame) -> pl.DataFrame:
    """Per (slice, node): respondents, answers, score total, promoters and detractors."""
    return rows.group_by(SLICE, NODE).agg(
        pl.col(EMP).n_unique().alias("respondents"),
        pl.len().alias("answers"),
        pl.col("score").sum().alias("total"),
        (pl.col("score") >= PROMOTER).sum().alias("promoters"),
        (pl.col("score") <= DETRACTOR).sum().alias("detractors"),
    )


def scores(row: Mapping[str, Any]) -> dict[str, Any]:
    answers = row["answers"]
    return {
        "respondents": row["respondents"],
        "answers": answers,
        "score_mean": round(row["total"] / answers, 2),
        "nps": round(100 * (row["promoters"] - row["detractors"]) / answers),
    }


def published(rows: pl.DataFrame, parents: pl.DataFrame, k: int) -> tuple[pl.DataFrame, Suppressed]:
    """The groups of `rows` (slice, node, emp, score) that may be published, with their figures."""
    groups = figures(rows).join(parents, on=NODE, how="left")
    members = rows.select(SLICE, NODE, EMP).unique()
    flags, suppressed = publishable(groups, members, k)
    return groups.filter(flags), suppressed


class Builder:
    def __init__(self, answers: Answers, org: Org, options: Options) -> None:
        self.answers = answers
        self.org = org
        self.options = options
        self.keys: list[Key] = list(answers.employees)
        self.codes: dict[Key, int] = {key: code for code, key in enumerate(self.keys)}
        for key in org.staff.versions:
            self.code(key)
        self.path_codes: dict[tuple[Any, ...], int] = {}  # segment values from the top -> code
        self.questions: dict[int, dict[str, Any]] = {}  # code -> its text, driver and sub-driver

    def code(self, key: Key) -> int:
        if key not in self.codes:
            self.codes[key] = len(self.keys)
            self.keys.append(key)
        return self.codes[key]

    def months(self) -> list[Period]:
        return [Period(m, m) for m in sorted(self.answers.frame["month"].unique().to_list())]

    def question(self, code: int) -> dict[str, Any]:
        """A question's columns, worked out once per question (rows repeat them by the thousand)."""
        if code not in self.questions:
            about = self.answers.about[code]
            driver, sub_driver = self.org.catalog.get(about.category() or "", (None, None))
            self.questions[code] = {"question_text": about.text(), "driver": driver, "sub_driver": sub_driver}
        return self.questions[code]

    # -- the org chart now ------------------------------------------------------------------
    def org_rows(self) -> list[dict[str, Any]]:
        current = self.org.staff.current
        chart = Chart.of({key: version.manager for key, version in current.items()})
        reports: dict[Key, list[Key]] = {}
        for key, manager in chart.effective.items():
            if manager is not None:
                reports.setdefault(manager, []).append(key)
        chains = {key: chart.chain(key) for key in current}
        below: dict[Key, int] = {}
        for key in sorted(current, key=lambda k: -len(chains[k])):  # the deepest first
            below[key] = sum(1 + below[r] for r in reports.get(key, []))
        segments = self.options.segments
        rows = []
        for key, version in current.items():
            attributes = version.attributes
            rows.append(
                {
                    "_id": key,
                    "name": attributes.get("name"),
                    "identifier": attributes.get("identifier"),
                    "department": attributes.get(segments[0]) if segments else None,
                    "sub_department": attributes.get(segments[1]) if len(segments) > 1 else None,
                    "manager_id": version.manager,
                    "chain": chains[key],
                    "depth": len(chains[key]),
                    "direct_reports": len(reports.get(key, [])),
                    "total_reports": below[key],
                    "orphan": key in chart.orphans,
                    "cycle": key in chart.cycles,
                }
            )
        return rows

    # -- who managed and where each respondent sat, per epoch ---------------------------------
    def attributes(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Per (epoch, emp) of `frame`: the effective manager then, and the segment path codes."""
        paths = self.path_codes
        columns: dict[str, list[Any]] = {"epoch": [], "emp": [], "manager": []}
        levels = range(len(self.options.segments))
        for level in levels:
            columns[f"path{level}"] = []
        for epoch, emp in frame.select("epoch", "emp").unique().iter_rows():
            key = self.keys[emp]
            version = self.org.version(key, epoch)
            manager = self.org.chart(epoch).effective.get(key) if version else None
            values = tuple(version.attributes.get(s) if version else None for s in self.options.segments)
            columns["epoch"].append(epoch)
            columns["emp"].append(emp)
            columns["manager"].append(None if manager is None else self.code(manager))
            for level in levels:
                columns[f"path{level}"].append(paths.setdefault(values[: level + 1], len(paths)))
        schema = {"epoch": pl.Int32, "emp": pl.Int32, "manager": pl.Int32} | {f"path{i}": pl.Int64 for i in levels}
        return pl.DataFrame(columns, schema=schema)

    # -- manager x question -------------------------------------------------------------------
    def manager_question(self, period: Period, frame: pl.DataFrame, who: pl.DataFrame, mart: Mart) -> None:
        rows = frame.join(who.select("epoch", "emp", "manager"), on=["epoch", "emp"]).filter(
            pl.col("manager").is_not_null()
        )
        chart = self.org.chart(self.org.at_end(period))
        chains: dict[str, list[int]] = {"manager": [], NODE: []}
        nodes: dict[int, tuple[int | None, int]] = {}  # node -> (parent node, depth)
        for manager in rows["manager"].unique().to_list():
            above = chart.chain(self.keys[manager])
            line = [self.code(k) for k in above] + [manager]
            for depth, code in enumerate(line):
                chains["manager"].append(manager)
                chains[NODE].append(2 * code)
                nodes[2 * code] = (2 * line[depth - 1] if depth else None, depth)
            nodes[2 * manager + 1] = (2 * manager, len(line))  # `direct` sits under `team`
        parents = pl.DataFrame(
            {
                NODE: list(nodes),
                PARENT: [p for p, _ in nodes.values()],
                "depth": [d for _, d in nodes.values()],
                RANK: [f"{'direct' if n % 2 else 'team'} {self.keys[n // 2]!r}" for n in nodes],
            },
            schema={NODE: pl.Int64, PARENT: pl.Int64, "depth": pl.Int32, RANK: pl.String},
        )
        base = rows.select(pl.col("question").alias(SLICE), "manager", EMP, "score")
        team = base.join(pl.DataFrame(chains, schema={"manager": pl.Int32, NODE: pl.Int64}), on="manager")
        direct = base.with_columns((2 * pl.col("manager").cast(pl.Int64) + 1).alias(NODE))
        every = pl.concat([team.select(SLICE, NODE, EMP, "score"), direct.select(SLICE, NODE, EMP, "score")])
        groups, suppressed = published(every, parents, self.options.min_respondents)
        mart.add((self._manager_row(period, row) for row in groups.iter_rows(named=True)), suppressed)

    def _manager_row(self, period: Period, row: Mapping[str, Any]) -> dict[str, Any]:
        manager = self.keys[row[NODE] // 2]
        return {
            "manager_id": manager,
            "scope": "direct" if row[NODE] % 2 else "team",
            "month": period.label,
            "question_id": self.answers.questions[row[SLICE]],
            "manager_identifier": self.org.label(manager).attributes.get("identifier"),
            **self.question(row[SLICE]),
            **scores(row),
        }

    # -- segment x driver -----------------------------------------------------------------------
    def driver_segment(self, period: Period, frame: pl.DataFrame, who: pl.DataFrame, mart: Mart) -> None:
        known = frame.filter(pl.col("category").is_in(list(self.org.catalog)))
        joined = known.join(who, on=["epoch", "emp"])
        levels = range(len(self.options.segments))
        every = pl.concat(
            [
                joined.select(pl.col("category").alias(SLICE), pl.col(f"path{i}").alias(NODE), EMP, "score")
                for i in levels
            ]
        )
        paths = {code: path for path, code in self.path_codes.items()}
        parents = pl.DataFrame(
            {
                NODE: list(paths),
                PARENT: [self.path_codes[p[:-1]] if len(p) > 1 else None for p in paths.values()],
                "depth": [len(p) for p in paths.values()],
                RANK: [repr(p) for p in paths.values()],
            },
            schema={NODE: pl.Int64, PARENT: pl.Int64, "depth": pl.Int32, RANK: pl.String},
        )
        groups, suppressed = published(every, parents, self.options.min_respondents)
        rows = []
        for row in groups.iter_rows(named=True):
            path = paths[row[NODE]]
            driver, sub_driver = self.org.catalog[row[SLICE]]
            rows.append(
                {
                    "month": period.label,
                    "segment": self.options.segments[len(path) - 1],
                    "segment_value": path[-1],
                    "path": list(path),
                    "driver": driver,
                    "sub_driver": sub_driver,
                    **scores(row),
                }
            )
        mart.add(rows, suppressed)

    # -- participation --------------------------------------------------------------------------
    def participation(self, period: Period, frame: pl.DataFrame, mart: Mart) -> None:
        epoch, staff = self.org.at_end(period), self.org.staff
        segment = self.options.segments[0] if self.options.segments else None
        history_start = staff.history_start()
        unit: dict[int, Any] = {}
        for key in staff.versions:
            if staff.present(key, period.start, period.end, history_start):
                version = self.org.version(key, epoch)
                unit[self.codes[key]] = version.attributes.get(segment) if version and segment else None
        answered = set(frame["emp"].unique().to_list())
        counts: dict[Any, list[int]] = {}
        for emp, value in unit.items():
            tally = counts.setdefault(value, [0, 0])
            tally[0] += 1
            tally[1] += emp in answered
        rows, below = [], 0
        for value, (employees, respondents) in counts.items():
            if respondents < self.options.min_respondents:
                below += 1
                continue
            rows.append(
                {
                    "month": period.label,
                    "department": value,
                    "employees": employees,
                    "respondents": respondents,
                    "rate": round(respondents / employees, 3),
                }
            )
        mart.add(rows, Suppressed(below, 0))


def compute(
    answers: Answers,
    org: Org,
    options: Options,
    periods: Sequence[Period] | None = None,
    sinks: Mapping[str, Sink] | None = None,
) -> dict[str, Mart]:
    """Every mart, for each month of the answers (or for the given periods: an export's range: no
    org chart, no participation). With `sinks`, each mart's rows go there as they are made."""
    names = ("org", "manager_question", "driver_segment", "participation") if periods is None else RANGED
    marts = {name: Mart((sinks or {}).get(name)) for name in names}
    builder = Builder(answers, org, options)
    for period in periods if periods is not None else builder.months():
        frame = answers.frame.filter(period.holds())
        if not frame.height:
            continue
        who = builder.attributes(frame)
        with marts["manager_question"].timed():
            builder.manager_question(period, frame, who, marts["manager_question"])
        with marts["driver_segment"].timed():
            builder.driver_segment(period, frame, who, marts["driver_segment"])
        if "participation" in marts:
            with marts["participation"].timed():
                builder.participation(period, frame, marts["participation"])
    if "org" in marts:
        with marts["org"].timed():
            marts["org"].add(builder.org_rows(), Suppressed(0, 0))
    return marts
