"""The exact auditor of published figures, written apart from the build (it never imports
`peakon_ingest.marts`): the rules are `oracle`'s, the data the raw stored documents.

Input: figures as the release layer's `explain` gives them (mart, row as published, the answers or
employees each counts), the raw answers and employees, and k. Two checks:

1. `verify`: each figure's numbers equal those of its members' raw answers (`answers`, `score_mean`
   to 2 decimals, `nps`, and `score_sum`, `promoters`, `detractors`, `respondents` where present),
   and each member really belongs to the figure's group, by oracle's rules: in the month or range,
   of the question or driver, under the manager (`direct`: the manager when the answer was given;
   `team`: that manager or one above it in the chart at the month's end) or at the segment path
   (the values when the answer was given).

2. `leaks`, the linear audit. The variables are individual answers (participation: an employee in
   a month). A published figure is a linear form over them: its answer count is the sum of its
   members' indicators, its score sum the sum of their scores, its NPS numerator the sum of +1/0/-1
   per answer. All three share the same coefficient matrix A (figure x answer, 1 where the figure
   counts the answer), so a set S of answers has its count, score sum and NPS numerator derivable
   from published figures exactly when S's indicator is a linear combination of A's rows. Answers
   with the same signature (the figures that count them) are indistinguishable to any combination,
   so they collapse into classes; per connected block, a MILP (HiGHS, `scipy.optimize.milp`) with a
   binary x_c per class, a free y_f per figure and a binary r_p per person, subject to
   sum_f A[f,c] y_f = x_c, sum_c x_c >= 1 and r_p >= x_c for each person p with an answer in c,
   minimises sum_p r_p: the fewest respondents of any exactly derivable set. A block whose minimum
   is under k leaks that set.

   Why exact derivability is the test for the issue's "to within 2.5 points an answer" too: a mean
   is published to 2 decimals, so its rounding moves a derived score sum by at most 0.005 per
   answer, 500 times less than the tolerance; and when a set's indicator is not in the row space,
   no combination of figures isolates it: any combination that gives its sum also carries other
   answers with a non-zero weight, whose scores the analyst does not know (anything from 0 to 10),
   so the combination does not pin its score sum down. Approximations that use rounding are not
   modelled beyond that: they stay inside what the exact coefficients allow.

   Participation is audited as two systems of its own: employee counts (variables: employee-month
   memberships of `members`) and respondent counts (`respondents`). Their difference, the
   non-respondents of a row, is not protected by the release layer (its README says so), so the
   two are not combined here.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pymongo.database import Database
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from tests.marts import oracle
from tests.marts.oracle import Doc

ANSWER_MARTS = ("manager_question", "driver_segment")
TOLERANCE = 1e-6  # how far a found combination may miss an exact 0/1 indicator (HiGHS works in floats)


class FigureLike(Protocol):
    """What `peakon_ingest.marts.release.Figure` holds (the auditor needs nothing else)."""

    @property
    def mart(self) -> str: ...
    @property
    def row(self) -> Mapping[str, Any]: ...
    @property
    def members(self) -> frozenset[Any]: ...
    @property
    def respondents(self) -> frozenset[Any]: ...


@dataclass(frozen=True)
class Figure:
    """A figure of today's marts (`published.figures_from_today`), in the release layer's shape."""

    mart: str
    row: Mapping[str, Any]
    members: frozenset[Any]
    respondents: frozenset[Any] = frozenset()


@dataclass(frozen=True)
class Rules:
    """Where today's marts and the release layer differ in what a member may be."""

    team_chart_at_range_end: bool = False  # today: a range's teams follow the chart at its last month's end
    # today: an employee seen by the first ingest counts in every past month, and hire dates are not read
    first_sync_presence: bool = False


RELEASE = Rules()
TODAY = Rules(team_chart_at_range_end=True, first_sync_presence=True)


@dataclass(frozen=True)
class Scored:
    who: Any
    value: float
    month: str
    when: dt.datetime
    question: Any
    category: str


class World(oracle.World):
    """oracle's World, each chart worked out once per stretch between two version starts (oracle
    works it out per answer: the same result, slowly)."""

    def chart(self, moment: dt.datetime | None) -> dict[Any, Any]:
        if moment is None:
            return super().chart(None)
        if not hasattr(self, "_starts"):
            self._starts = sorted({v[0] for vs in self.versions.values() for v in vs if v[0] != oracle.EARLIEST})
            self._charts: dict[int, dict[Any, Any]] = {}
        index = bisect.bisect_right(self._starts, moment)
        if index not in self._charts:
            self._charts[index] = super().chart(self._starts[index - 1] if index else oracle.EARLIEST)
        return self._charts[index]


@dataclass
class Raw:
    """The stored documents the figures come from, read plainly."""

    world: oracle.World
    answers: dict[Any, Scored]  # answers_export `_id` -> the scored answer (unscored ones are left out)
    attributes: Sequence[Doc]  # every answer's attributes, `answerId` set to the document's `_id`
    catalog: dict[str, tuple[Any, Any]]
    segments: tuple[str, ...]
    history_start: dt.datetime | None
    months: dict[str, list[tuple[Any, Scored]]] = field(default_factory=dict)  # month -> its scored answers

    def __post_init__(self) -> None:
        for ident, answer in self.answers.items():
            self.months.setdefault(answer.month, []).append((ident, answer))

    @classmethod
    def of(
        cls,
        employees: Sequence[Doc],
        history: Sequence[Doc],
        answers: Iterable[Doc],
        catalog: Mapping[str, tuple[Any, Any]],
        segments: tuple[str, ...],
    ) -> Raw:
        """`answers`: answers_export documents (`_id` and `attributes`)."""
        world = World.of(employees, history)
        attributes = [{**doc["attributes"], "answerId": doc["_id"]} for doc in answers if doc.get("removed_at") is None]
        scored = {
            answer["answerId"]: Scored(
                oracle.key(answer["employeeId"]),
                value,
                month,
                when,
                oracle.key(answer.get("questionId")),
                str(answer.get("categoryId")),
            )
            for answer, value, month, when in oracle.scored(attributes)
        }
        starts = [s for doc in history if (s := oracle.aware(doc["valid_from"]))]
        return cls(world, scored, attributes, dict(catalog), segments, min(starts, default=None))

    @classmethod
    def read(cls, db: Database[dict[str, Any]], segments: tuple[str, ...]) -> Raw:
        catalog = {
            str(doc.get("Id", doc["_id"])): (doc.get("Driver"), doc.get("SubDriver") or None)
            for doc in db["drivers_catalog"].find()
        }
        return cls.of(
            list(db["employees"].find()),
            list(db["employees_history"].find()),
            db["answers_export"].find({}, {"attributes": 1, "removed_at": 1}),
            catalog,
            segments,
        )

    def chart(self, moment: dt.datetime) -> dict[Any, Any]:
        return self.world.chart(moment)

    def path(self, answer: Scored) -> tuple[Any, ...]:
        record = self.world.record(answer.who, answer.when) if answer.who in self.world.versions else {}
        attributes = record.get("attributes") or {}
        return tuple(attributes.get(s) for s in self.segments)

    def present(self, who: Any, month: str, rules: Rules) -> bool:
        """Employed in `month`: hired (employmentStart, else first seen) by its end, not gone before it began."""
        start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
        versions = self.world.versions[who]
        first, last_to = versions[0][0], versions[-1][1]
        hired = None if rules.first_sync_presence else hire_date(versions[-1][2]) or hire_date(versions[0][2])
        if hired is not None:
            joined = hired <= oracle.month_end(month)
        else:
            first_sync = rules.first_sync_presence and self.history_start is not None and (
                first < self.history_start + dt.timedelta(days=1)
            )  # fmt: skip
            joined = first == oracle.EARLIEST or first <= oracle.month_end(month) or first_sync
        return joined and (last_to is None or last_to > start)


def hire_date(record: Doc) -> dt.datetime | None:
    value = (record.get("attributes") or {}).get("employmentStart")
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def span(label: str) -> tuple[str, str]:
    """A row's `month`: one month, or a range `first..last`."""
    first, _, last = label.partition("..")
    return first, last or first


# -- 1. each figure against the raw answers ----------------------------------------------------------
def verify(figures: Iterable[FigureLike], raw: Raw, rules: Rules = RELEASE) -> list[str]:
    """Every way a figure disagrees with the raw data (empty: all agree)."""
    problems: list[str] = []
    for figure in figures:
        if figure.mart == "participation":
            problems += [f"participation {dict(figure.row)}: {p}" for p in _participation(figure, raw, rules)]
        elif figure.mart in ANSWER_MARTS:
            problems += [f"{figure.mart} {dict(figure.row)}: {p}" for p in _answers(figure, raw, rules)]
        else:
            problems.append(f"{figure.mart}: not a figures mart")
    return problems


def _answers(figure: FigureLike, raw: Raw, rules: Rules) -> list[str]:
    row, problems = figure.row, []
    first, last = span(row["month"])
    missing = [m for m in figure.members if m not in raw.answers]
    if missing:
        return [f"counts {len(missing)} answers that are not scored answers, e.g. {missing[:3]}"]
    if not figure.members:
        return ["published, counting no answer"]
    members = [raw.answers[m] for m in figure.members]
    problems += _numbers(row, members)
    for member in members:
        if not first <= member.month <= last:
            problems.append(f"an answer of {member.month}")
        elif (why := _outside(figure.mart, row, member, raw, last, rules)) is not None:
            problems.append(why)
    return problems[:5]


def _outside(mart: str, row: Mapping[str, Any], answer: Scored, raw: Raw, last: str, rules: Rules) -> str | None:
    """Why `answer` is not in the group of `row` (None: it is)."""
    if mart == "driver_segment":
        if raw.catalog.get(answer.category) != (row["driver"], row["sub_driver"]):
            return f"an answer of category {answer.category}"
        path = tuple(row["path"])
        found = raw.path(answer)[: len(path)]
        return None if found == path else f"an answer of {answer.who} at {found}"
    if answer.question != oracle.key(row["question_id"]):
        return f"an answer to question {answer.question!r}"
    if answer.who not in raw.world.versions or (manager := raw.chart(answer.when)[answer.who]) is None:
        return f"an answer of {answer.who!r}, who had no manager then"
    wanted = oracle.key(row["manager_id"])
    if row["scope"] == "direct":
        return None if manager == wanted else f"an answer of {answer.who!r}, whose manager was {manager!r}"
    end = raw.chart(oracle.month_end(last if rules.team_chart_at_range_end else answer.month))
    line = [manager, *oracle.above(end, manager)]
    return None if wanted in line else f"an answer of {answer.who!r}, in the teams of {line!r}"


def group(mart: str, row: Mapping[str, Any], raw: Raw, rules: Rules = RELEASE) -> frozenset[Any]:
    """Every scored answer (its `_id`) of the group `row` names, in its month or range, by the
    auditor's rules: what a figure of that group would count were it complete."""
    first, last = span(row["month"])
    return frozenset(
        ident
        for month in raw.months
        if first <= month <= last
        for ident, answer in raw.months[month]
        if _outside(mart, row, answer, raw, last, rules) is None
    )


def employed(month: str, department: Any, raw: Raw, rules: Rules = RELEASE) -> tuple[frozenset[Any], frozenset[Any]]:
    """The employees of `department` (first segment) at the end of `month` who were employed in
    it, and those of them with a scored answer in it."""
    answered = {answer.who for _, answer in raw.months.get(month, [])}
    end = oracle.month_end(month)
    people = frozenset(
        who
        for who in raw.world.versions
        if raw.present(who, month, rules)
        and (raw.world.record(who, end).get("attributes") or {}).get(raw.segments[0]) == department
    )
    return people, people & answered


def _numbers(row: Mapping[str, Any], members: list[Scored]) -> list[str]:
    scores = [m.value for m in members]
    count, total = len(scores), sum(scores)
    promoters, detractors = sum(s >= 9 for s in scores), sum(s <= 6 for s in scores)
    expected: dict[str, Any] = {
        "answers": count,
        "score_mean": round(total / count, 2),
        "nps": round(100 * (promoters - detractors) / count),
        "score_sum": total,
        "promoters": promoters,
        "detractors": detractors,
        "respondents": len({m.who for m in members}),
    }
    problems = []
    for name, value in expected.items():
        if name in {"score_sum", "promoters", "detractors", "respondents"} and row.get(name) is None:
            continue  # absent from today's rows; `respondents` is null for a range
        if name not in row or abs(float(row[name]) - value) > TOLERANCE:
            problems.append(f"{name} {row.get(name)!r}, the members give {value!r}")
    return problems


def _participation(figure: FigureLike, raw: Raw, rules: Rules) -> list[str]:
    row, problems = figure.row, []
    month = row["month"]
    answered = {a.who for a in raw.answers.values() if a.month == month}
    if row.get("employees") != len(figure.members) or row.get("respondents") != len(figure.respondents):
        problems.append(f"counts {len(figure.members)} employees and {len(figure.respondents)} respondents")
    if not figure.respondents <= figure.members:
        problems.append("a respondent who is not counted as an employee")
    if figure.respondents - answered:
        problems.append(
            f"respondents without a scored answer in {month}: {sorted(map(str, figure.respondents - answered))}"
        )
    for who in figure.members:
        if who not in raw.world.versions or not raw.present(who, month, rules):
            problems.append(f"{who!r} was not employed in {month}")
        elif not row.get("pooled"):
            unit = (raw.world.record(who, oracle.month_end(month)).get("attributes") or {}).get(raw.segments[0])
            if unit != row["department"]:
                problems.append(f"{who!r} was in {unit!r} at the month's end")
    if figure.members and row.get("rate") != round(len(figure.respondents) / len(figure.members), 3):
        problems.append(f"rate {row.get('rate')!r}")
    return problems[:5]


# -- 2. the linear audit ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Leak:
    """A set of fewer than k people whose answers' count and score sum published figures give."""

    system: str  # "answers", "participation employees" or "participation respondents"
    people: frozenset[Any]
    variables: frozenset[Any]  # answer ids (participation: (employee, month))
    figures: tuple[Mapping[str, Any], ...]  # the rows of the block it was found in
    confirmed: bool  # the combination checked again by least squares, apart from the MILP

    def __str__(self) -> str:
        names = ("month", "scope", "manager_id", "question_id", "path", "driver", "department")
        rows = [" ".join(str(f[n]) for n in names if n in f) for f in self.figures[:4]]
        more = f" and {len(self.figures) - 4} more" if len(self.figures) > 4 else ""
        return (
            f"{self.system}: {len(self.people)} people {sorted(map(str, self.people))} recoverable "
            f"({len(self.variables)} answers{'' if self.confirmed else ', unconfirmed'}) from "
            f"{'; '.join(rows)}{more}"
        )


@dataclass
class System:
    name: str
    sets: list[frozenset[Any]] = field(default_factory=list)  # each figure's variables
    rows: list[Mapping[str, Any]] = field(default_factory=list)
    person: dict[Any, Any] = field(default_factory=dict)  # variable -> person


def systems(figures: Iterable[FigureLike], raw: Raw) -> list[System]:
    answers = System("answers")
    employed, responded = System("participation employees"), System("participation respondents")
    for figure in figures:
        if figure.mart in ANSWER_MARTS:
            answers.sets.append(frozenset(figure.members))
            answers.rows.append(figure.row)
            for member in figure.members:
                answers.person[member] = raw.answers[member].who if member in raw.answers else ("?", member)
        elif figure.mart == "participation":
            for system, people in ((employed, figure.members), (responded, figure.respondents)):
                variables = frozenset((who, figure.row["month"]) for who in people)
                system.sets.append(variables)
                system.rows.append(figure.row)
                system.person.update({v: v[0] for v in variables})
    return [answers, employed, responded]


def leaks(figures: Iterable[FigureLike], raw: Raw, k: int) -> list[Leak]:
    """Every block of every system whose smallest exactly derivable set has fewer than k people."""
    return [leak for system in systems(figures, raw) for leak in recoverable(system, k)]


def recoverable(system: System, k: int) -> list[Leak]:
    found = (smallest(system, block, k) for block in blocks(system))
    return [leak for leak in found if leak is not None]


def blocks(system: System) -> list[list[int]]:
    """The figures (indices, one per distinct set of variables) grouped into connected blocks."""
    parent: dict[Any, Any] = {}

    def root(node: Any) -> Any:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    distinct: dict[frozenset[Any], int] = {}
    for index, variables in enumerate(system.sets):
        if variables and variables not in distinct:
            distinct[variables] = index
            first = next(iter(variables))
            for variable in variables:
                parent[root(variable)] = root(first)
    grouped: dict[Any, list[int]] = defaultdict(list)
    for variables, index in distinct.items():
        grouped[root(next(iter(variables)))].append(index)
    return list(grouped.values())


def smallest(system: System, block: list[int], k: int) -> Leak | None:
    """The MILP of one block: the fewest people of an exactly derivable set, if fewer than k."""
    signature: dict[Any, list[int]] = defaultdict(list)
    for column, index in enumerate(block):
        for variable in system.sets[index]:
            signature[variable].append(column)
    classes: dict[tuple[int, ...], list[Any]] = defaultdict(list)
    for variable, columns in signature.items():
        classes[tuple(columns)].append(variable)
    people = [frozenset(system.person[v] for v in variables) for variables in classes.values()]
    if min(len(p) for p in people) >= k:
        return None  # any derivable set holds a whole class
    incidence = np.zeros((len(block), len(classes)))  # A: figure x class
    for c, signed in enumerate(classes):
        incidence[list(signed), c] = 1.0
    chosen = solve(incidence, people, k)
    if chosen is None:
        return None
    variables = frozenset(v for c, group in enumerate(classes.values()) if chosen[c] for v in group)
    who = frozenset(system.person[v] for v in variables)
    # Checked apart from the MILP: is the chosen indicator a combination of the block's figures?
    weights = np.linalg.lstsq(incidence.T, chosen, rcond=None)[0]
    confirmed = bool(np.abs(incidence.T @ weights - chosen).max() < TOLERANCE)
    return Leak(system.name, who, variables, tuple(system.rows[i] for i in block), confirmed)


def solve(incidence: np.ndarray[Any, Any], people: list[frozenset[Any]], k: int) -> np.ndarray[Any, Any] | None:
    """x (0/1 per class) of the derivable set with the fewest people, when that is under k."""
    everyone = sorted({p for group in people for p in group}, key=repr)
    number = {p: i for i, p in enumerate(everyone)}
    n_figures, n_classes = incidence.shape
    x, y, r = 0, n_classes, n_classes + n_figures  # offsets of each kind of variable
    size = r + len(everyone)
    entries: list[tuple[int, int, float]] = []
    lower: list[float] = []
    upper: list[float] = []

    def constraint(terms: list[tuple[int, float]], low: float, high: float) -> None:
        entries.extend((len(lower), col, value) for col, value in terms)
        lower.append(low)
        upper.append(high)

    for c in range(n_classes):  # sum_f A[f,c] y_f = x_c
        constraint([*((y + f, 1.0) for f in np.flatnonzero(incidence[:, c])), (x + c, -1.0)], 0.0, 0.0)
    constraint([(x + c, 1.0) for c in range(n_classes)], 1.0, np.inf)  # a set of at least one class
    for c, group in enumerate(people):  # r_p >= x_c
        for person in group:
            constraint([(r + number[person], 1.0), (x + c, -1.0)], 0.0, np.inf)
    constraint([(col, 1.0) for col in range(r, size)], 0.0, k - 1)  # only a set under k matters
    rows, cols, vals = zip(*entries, strict=True)
    matrix = coo_array((vals, (rows, cols)), shape=(len(lower), size)).tocsr()
    integrality = np.zeros(size)
    integrality[x:y] = 1
    integrality[r:] = 1
    low, high = np.zeros(size), np.ones(size)
    low[y:r], high[y:r] = -np.inf, np.inf  # y: free weights of the figures
    cost = np.zeros(size)
    cost[r:] = 1.0
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, np.array(lower), np.array(upper)),
        integrality=integrality,
        bounds=Bounds(low, high),
        options={"mip_rel_gap": 0.0},
    )
    return None if result.x is None else np.round(result.x[x:y])  # None: infeasible, no set under k
