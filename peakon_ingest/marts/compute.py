"""The marts, computed in-process from plain reads (so every MongoDB-compatible server gives the
same result): the org chart now, and per released month the figures of managers and segments (sums
of whole atoms, `atoms`) and participation.

Rules (README "Analytics marts"): an answer's manager is the employee's manager in the version of
their record valid when they answered (the earliest version if the answer predates the history);
`team` groups follow the org chart as it stood at the end of the month. A group's row counts the
atoms that lie wholly inside it and is published when it counts one; `complete` says whether it
counted all of the group's answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from peakon_ingest.marts.answers import Answers
from peakon_ingest.marts.atoms import ATOM, DETRACTOR, EMP, PROMOTER, SLICE, assign, path
from peakon_ingest.marts.options import Options
from peakon_ingest.marts.people import Chart, Key, Staff, Version, epoch_of, name_words, sort_key

NODE = "node"
NO_CATEGORY = "\x00"  # a slice's category where answers carry none (a join key cannot be null)
FIGURES = ("manager_question", "driver_segment", "participation")  # the marts released month by month
ORG_FIELDS_VERSION = 2  # raised when mart_org's fields change: the next build rebuilds it (2: name_words)


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


@dataclass
class Released:
    """One month's marts, before they are published: the rows of each figures mart, what they count
    (for `audit`: each figure's atoms over `table`; when explained: answer row numbers per row, and
    participation's employees and respondents), and the coverage counts."""

    rows: dict[str, list[dict[str, Any]]]
    table: pl.DataFrame  # the month's scored answers: row, emp, score, atom (null: not published)
    figures: list[pl.DataFrame]  # per figures mart: answers, score_sum, promoters, detractors, atoms
    coverage: dict[str, int]
    members: dict[str, list[tuple[list[Any], list[Any]]]] = field(default_factory=dict)


def sums(frame: pl.DataFrame, by: list[str], explain: bool) -> pl.DataFrame:  # noqa: FBT001
    """Per group of `by`: respondents, answers, score sum, promoters, detractors, its atoms."""
    return frame.group_by(by).agg(
        pl.col(EMP).n_unique().alias("respondents"),
        pl.len().alias("answers"),
        pl.col("score").sum().alias("score_sum"),
        (pl.col("score") >= PROMOTER).sum().alias("promoters"),
        (pl.col("score") <= DETRACTOR).sum().alias("detractors"),
        pl.col(ATOM).unique().alias("atoms"),
        *([pl.col("row").alias("rows")] if explain else []),
    )


def completed(figures: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """`figures` with `complete`: whether each counted all the answers of its group (`raw`, by the
    same keys: every column but `raw`)."""
    keys = [name for name in raw.columns if name != "raw"]
    return figures.join(raw, on=keys, how="left").with_columns((pl.col("answers") == pl.col("raw")).alias("complete"))


def scores(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's figures: exact sums (a range adds them up), and the mean and NPS they give."""
    answers = row["answers"]
    return {
        "respondents": row["respondents"],
        "answers": answers,
        "score_sum": row["score_sum"],
        "promoters": row["promoters"],
        "detractors": row["detractors"],
        "score_mean": round(row["score_sum"] / answers, 2),
        "nps": round(100 * (row["promoters"] - row["detractors"]) / answers),
        "complete": row["complete"],
    }


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
        self._paths: dict[int, tuple[Any, ...]] = {}  # path_codes inverted

    def code(self, key: Key) -> int:
        if key not in self.codes:
            self.codes[key] = len(self.keys)
            self.keys.append(key)
        return self.codes[key]

    def months(self) -> list[str]:
        return sorted(self.answers.frame["month"].unique().to_list())

    def released(self, months: Iterable[str], *, explain: bool = False) -> Iterator[tuple[str, Released]]:
        """Each of `months` with answers, computed when its turn comes (one month in memory at a time)."""
        for month in months:
            frame = self.answers.frame.filter(pl.col("month") == month)
            if frame.height:
                yield month, self.month(month, frame, explain=explain)

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
                    **self.named(attributes),
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

    def named(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """An employee's name and identifier; none where ids are pseudonyms (a pseudonym beside a
        name would make a table from one to the other)."""
        if self.options.pseudonymous:
            return {}
        name = attributes.get("name")
        return {"name": name, "name_words": name_words(name), "identifier": attributes.get("identifier")}

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

    # -- one month: atoms, then each mart's rows as sums of whole atoms ---------------------------
    def atom_name(self, kind: int, level: int, manager: int, path_code: int) -> tuple[Any, ...]:
        """An atom's name that orders the same whatever order the documents were read in."""
        paths = self.inverse_paths()
        who = (0, (False, 0)) if manager < 0 else (1, sort_key(self.keys[manager]))
        return (kind, level, who, repr(paths.get(path_code)))

    def inverse_paths(self) -> dict[int, tuple[Any, ...]]:
        if len(self._paths) != len(self.path_codes):
            self._paths = {code: values for values, code in self.path_codes.items()}
        return self._paths

    def month(self, month: str, frame: pl.DataFrame, *, explain: bool = False) -> Released:
        """`frame`: the month's scored answers."""
        period = Period(month, month)
        levels = len(self.options.segments)
        k = self.options.min_respondents
        table = frame.join(self.attributes(frame), on=["epoch", EMP]).with_columns(
            pl.col("category").fill_null(NO_CATEGORY)
        )
        slices = table.select("question", "category").unique().with_row_index(SLICE)
        table = assign(table.join(slices, on=["question", "category"]), k, levels, self.atom_name)
        lines = Lines(self, self.org.chart(self.org.at_end(period)))
        manager_nodes, segment_nodes, inside_department = self.atom_nodes(table, lines)
        counted = table.filter(pl.col(ATOM).is_not_null())
        managed = table.filter(pl.col("manager").is_not_null())
        raw = (
            managed.join(lines.raw_nodes(managed["manager"].unique().to_list()), on="manager")
            .group_by("question", NODE)
            .agg(pl.len().alias("raw"))
        )
        managers = completed(sums(counted.join(manager_nodes, on=ATOM), ["question", NODE], explain), raw)
        known = table.filter(pl.col("category").is_in(list(self.org.catalog)))
        raw = (
            pl.concat(
                [known.select("category", pl.col(path(i)).cast(pl.Int64).alias(NODE)) for i in range(levels)]
                or [pl.DataFrame(schema={"category": pl.String, NODE: pl.Int64})]
            )
            .group_by("category", NODE)
            .agg(pl.len().alias("raw"))
        )
        segments = completed(sums(counted.join(segment_nodes, on=ATOM), ["category", NODE], explain), raw)
        rows = {
            "manager_question": [self._manager_row(month, row) for row in managers.iter_rows(named=True)],
            "driver_segment": [self._segment_row(month, row) for row in segments.iter_rows(named=True)],
        }
        members: dict[str, list[tuple[list[Any], list[Any]]]] = {}
        if explain:
            members["manager_question"] = [(list(r), []) for r in managers["rows"].to_list()]
            members["driver_segment"] = [(list(r), []) for r in segments["rows"].to_list()]
        rows["participation"], members["participation"] = self.participation(period, frame)
        eligible = managed.group_by("question", "manager").agg(pl.col(EMP).n_unique().alias("n"))
        coverage = {
            "answers": table.height,
            "department_answers": counted.filter(pl.col(ATOM).is_in(inside_department)).height,
            "direct_eligible": eligible.filter(pl.col("n") >= k).height,
            "direct_published": sum(row["scope"] == "direct" for row in rows["manager_question"]),
        }
        return Released(rows, table.select("row", EMP, "score", ATOM), [managers, segments], coverage, members)

    def atom_nodes(self, table: pl.DataFrame, lines: Lines) -> tuple[pl.DataFrame, pl.DataFrame, list[int]]:
        """Which manager groups (node: 2 x manager for `team`, + 1 for `direct`) and segment paths
        (node: the path's code) each atom lies wholly inside; and the atoms inside one department."""
        levels = len(self.options.segments)
        atoms = (
            table.filter(pl.col(ATOM).is_not_null())
            .group_by(ATOM)
            .agg(
                pl.col("category").first(),
                pl.col("manager").unique().alias("managers"),
                *[(pl.col(path(i)).n_unique() == 1).alias(f"same{i}") for i in range(levels)],
                *[pl.col(path(i)).first() for i in range(levels)],
            )
        )
        manager_nodes: dict[str, list[int]] = {ATOM: [], NODE: []}
        segment_nodes: dict[str, list[int]] = {ATOM: [], NODE: []}
        inside_department: list[int] = []
        for atom in atoms.iter_rows(named=True):
            managers = atom["managers"]
            if None not in managers:
                nodes = [2 * code for code in lines.common(managers)] + (
                    [2 * managers[0] + 1] if len(managers) == 1 else []
                )
                manager_nodes[ATOM] += [atom[ATOM]] * len(nodes)
                manager_nodes[NODE] += nodes
            depth = next((i for i in range(levels) if not atom[f"same{i}"]), levels)
            if depth:
                inside_department.append(atom[ATOM])
            if atom["category"] in self.org.catalog:
                segment_nodes[ATOM] += [atom[ATOM]] * depth
                segment_nodes[NODE] += [atom[path(i)] for i in range(depth)]
        schema = {ATOM: pl.Int64, NODE: pl.Int64}
        return pl.DataFrame(manager_nodes, schema=schema), pl.DataFrame(segment_nodes, schema=schema), inside_department

    def _manager_row(self, month: str, row: Mapping[str, Any]) -> dict[str, Any]:
        manager = self.keys[row[NODE] // 2]
        label = self.org.label(manager).attributes
        named = {} if self.options.pseudonymous else {"manager_identifier": label.get("identifier")}
        return {
            "manager_id": manager,
            "scope": "direct" if row[NODE] % 2 else "team",
            "month": month,
            "question_id": self.answers.questions[row["question"]],
            **named,
            **self.question(row["question"]),
            **scores(row),
        }

    def _segment_row(self, month: str, row: Mapping[str, Any]) -> dict[str, Any]:
        values = self.inverse_paths()[row[NODE]]
        driver, sub_driver = self.org.catalog[row["category"]]
        return {
            "month": month,
            "segment": self.options.segments[len(values) - 1],
            "segment_value": values[-1],
            "path": list(values),
            "driver": driver,
            "sub_driver": sub_driver,
            **scores(row),
        }

    # -- participation --------------------------------------------------------------------------
    def participation(
        self, period: Period, frame: pl.DataFrame
    ) -> tuple[list[dict[str, Any]], list[tuple[list[Any], list[Any]]]]:
        """Rows that partition the month's staff, each of at least k employees and k respondents:
        departments (the first segment at the month's end) big enough on both counts, and one pooled
        row of the rest (grown with the smallest departments until it is big enough too)."""
        k, epoch, staff = self.options.min_respondents, self.org.at_end(period), self.org.staff
        segment = self.options.segments[0] if self.options.segments else None
        answered = {self.keys[emp] for emp in frame[EMP].unique().to_list()}
        units: dict[Any, tuple[list[Key], list[Key]]] = {}
        for key in sorted(staff.versions, key=sort_key):
            if staff.present(key, period.start, period.end):
                version = self.org.version(key, epoch)
                value = version.attributes.get(segment) if version and segment else None
                unit = units.setdefault(value, ([], []))
                unit[0].append(key)
                if key in answered:
                    unit[1].append(key)
        everyone = sum(len(e) for e, _ in units.values()), sum(len(r) for _, r in units.values())
        if min(everyone) < k:
            return [], []
        shown = {value: unit for value, unit in units.items() if min(len(unit[0]), len(unit[1])) >= k}
        pool: tuple[list[Key], list[Key]] = ([], [])
        for value, unit in units.items():
            if value not in shown:
                pool[0].extend(unit[0])
                pool[1].extend(unit[1])
        smallest = sorted(shown, key=lambda v: (len(shown[v][0]), len(shown[v][1]), repr(v)))
        while pool[0] and min(len(pool[0]), len(pool[1])) < k and smallest:
            unit = shown.pop(smallest.pop(0))
            pool[0].extend(unit[0])
            pool[1].extend(unit[1])
        parts = [(value, False, unit) for value, unit in shown.items()]
        if pool[0]:
            parts.append((None, True, pool))
        rows = [
            {
                "month": period.label,
                "department": value,
                "pooled": pooled,
                "employees": len(employees),
                "respondents": len(respondents),
                "rate": round(len(respondents) / len(employees), 3),
            }
            for value, pooled, (employees, respondents) in parts
        ]
        return rows, [(employees, respondents) for _, _, (employees, respondents) in parts]


class Lines:
    """Managers' lines in the chart at a month's end: the managers above, from the top, then them."""

    def __init__(self, builder: Builder, chart: Chart) -> None:
        self.builder, self.chart = builder, chart
        self.lines: dict[int, list[int]] = {}

    def of(self, manager: int) -> list[int]:
        if manager not in self.lines:
            above = self.chart.chain(self.builder.keys[manager])
            self.lines[manager] = [self.builder.code(key) for key in above] + [manager]
        return self.lines[manager]

    def common(self, managers: list[int]) -> list[int]:
        """The managers whose team holds all of `managers`' direct reports: their lines' common start."""
        common = self.of(managers[0])
        for other in managers[1:]:
            theirs = self.of(other)
            same = 0
            while same < min(len(common), len(theirs)) and common[same] == theirs[same]:
                same += 1
            common = common[:same]
        return common

    def raw_nodes(self, managers: list[int]) -> pl.DataFrame:
        """Every group (node) the direct reports of each of `managers` belong to."""
        nodes: dict[str, list[int]] = {"manager": [], NODE: []}
        for manager in managers:
            mine = [2 * code for code in self.of(manager)] + [2 * manager + 1]
            nodes["manager"] += [manager] * len(mine)
            nodes[NODE] += mine
        return pl.DataFrame(nodes, schema={"manager": pl.Int32, NODE: pl.Int64})


@dataclass
class Computed:
    org: list[dict[str, Any]]
    months: dict[str, Released]


def compute(
    answers: Answers, org: Org, options: Options, months: Sequence[str] | None = None, *, explain: bool = False
) -> Computed:
    """The org chart now, and each of `months` (default: every month of the answers) released."""
    builder = Builder(answers, org, options)
    released = dict(builder.released(builder.months() if months is None else months, explain=explain))
    return Computed(builder.org_rows(), released)
