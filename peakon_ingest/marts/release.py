"""The release layer: the calendar (which months may be published), what was released (`mart_release`,
and private state in `marts_state`), month ranges summed from released rows, and `explain`.

A month is released once `PEAKON_RELEASE_GRACE_DAYS` have passed since it ended, and its rows are
never rewritten: answers that arrive later for it are counted (`late_answers`), never published.
Every figure of a released month is a sum of whole atoms (`atoms`), and a range is a sum of released
monthly rows, so every figure and range is a sum of whole atoms of at least k respondents.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database

from peakon_ingest.marts.answers import month_of
from peakon_ingest.marts.options import PREFIX, MartsConfigError, Options
from peakon_ingest.marts.people import Staff, key_of
from peakon_ingest.run.runs import aware

Document = dict[str, Any]
RELEASE = PREFIX + "release"  # one document per released month: analysts may read it
STATE, STATE_ID = "marts_state", "release"  # private (not mart_*): watermarks and coverage counts
COVERAGE = ("answers", "department_answers", "direct_eligible", "direct_published")
# A row's identity within its month, per figures mart (a range sums the rows of one identity).
IDENTITY = {
    "manager_question": ("manager_id", "scope", "question_id"),
    "driver_segment": ("segment", "segment_value", "path", "driver", "sub_driver"),
    "participation": ("department", "pooled"),
}
SUMMED = ("answers", "score_sum", "promoters", "detractors")


class RangeError(ValueError):
    """A range reaches a month not released; the message names the latest released month."""


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def last_due(now: dt.datetime, grace_days: int) -> str:
    """The latest month released by `now`: every month whose next month began `grace_days` ago."""
    shifted = now.astimezone(dt.UTC) - dt.timedelta(days=grace_days)
    year, number = shifted.year, shifted.month
    return f"{year - (number == 1):04d}-{(number - 2) % 12 + 1:02d}"


def identity(name: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(tuple(v) if isinstance(v := row.get(f), list) else v for f in IDENTITY[name])


@dataclass
class State:
    """What was released: `mart_release` (month -> its document) and the private state (the largest
    answer `_id` read so far, and per released month the `_id` it was read up to and its coverage)."""

    released: dict[str, Document] = field(default_factory=dict)
    months: dict[str, Document] = field(default_factory=dict)
    watermark: Any = None
    settled: int | None = None  # how many stored answers the next build's read leaves out (see Due)
    staff: str | None = None  # the stamp of the staff and options `mart_org` was last built from
    known: list[str] = field(default_factory=list)  # the employees' attributes then

    @classmethod
    def load(cls, db: Database[Document]) -> State:
        released = {doc["_id"]: doc for doc in db[RELEASE].find()}
        private = db[STATE].find_one({"_id": STATE_ID}) or {}
        months = dict(private.get("months") or {})
        staff, known = private.get("staff"), list(private.get("known") or [])
        return cls(released, months, private.get("watermark"), private.get("settled"), staff, known)

    @property
    def frontier(self) -> str | None:
        """The latest released month: every month up to it is closed for good (kept in the private
        state before any mart shows it, in `mart_release` once every mart does)."""
        return max(self.closed, default=None)

    @property
    def closed(self) -> list[str]:
        """Every released month, those a stopped build closed but did not list in `mart_release` too."""
        return sorted({*self.released, *self.months})

    def coverage(self, new: Mapping[str, Mapping[str, int]] = {}) -> dict[str, float | None]:
        """The shares over every released month (`new` included)."""
        total = dict.fromkeys(COVERAGE, 0)
        for counts in [*self.months.values(), *new.values()]:
            for name in COVERAGE:
                total[name] += int(counts.get(name) or 0)
        return {
            "department_answers": round(total["department_answers"] / total["answers"], 4)
            if total["answers"]
            else None,
            "direct_groups": round(total["direct_published"] / total["direct_eligible"], 4)
            if total["direct_eligible"]
            else None,
        }

    def keep(
        self, db: Database[Document], released: Mapping[str, Mapping[str, int]], due: Due, now: dt.datetime
    ) -> None:
        """The months of `released` are closed in the private state (before the marts show them)."""
        for month, counts in released.items():
            self.months[month] = {**counts, "watermark": due.newest, "released_at": now}
        if due.newest is not None:
            self.watermark = due.newest
        self.settled = due.settled(self.frontier)
        private = {"watermark": self.watermark, "settled": self.settled, "staff": self.staff, "known": self.known}
        private["months"] = self.months
        db[STATE].replace_one({"_id": STATE_ID}, {"_id": STATE_ID, **private}, upsert=True)

    def record(
        self,
        db: Database[Document],
        released: Mapping[str, Mapping[str, int]],
        options: Options,
        due: Due,
        now: dt.datetime,
    ) -> None:
        """The months of `released` (month -> coverage counts), read by `due`, are now published."""
        self.keep(db, released, due, now)
        for month in released:
            doc = {"_id": month, "released_at": now, "min_respondents": options.min_respondents,
                   "segments": list(options.segments)}  # fmt: skip
            db[RELEASE].replace_one({"_id": month}, doc, upsert=True)
            self.released[month] = doc


class Due:
    """The answers a build releases, from a read of every answer (the first release) or of those
    answered from the month after `frontier` on: those of months up to `due`; later months wait.
    `newest`: the largest `_id` read (or the last watermark), the released months' watermark.

    `late`: the answers stored since the last build that no month to release can take (of a released
    month, or undated): they are never read, so they are counted as how many more answers the
    collection holds (`stored`) outside the read than it did after the last build (`settled`). A
    text `responseAnsweredAt` from a month on is what the read takes: counted here by its first 7
    characters, the same comparison the server makes, removed answers included."""

    def __init__(self, state: State, due: str, stored: int) -> None:
        self.frontier, self.due, self.stored, self.before = state.frontier, due, stored, state.settled
        self.read = 0
        self.newest: Any = state.watermark
        self.prefixes: Counter[str] = Counter()

    def __call__(self, answers: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for answer in answers:
            when = answer.get("responseAnsweredAt")
            if isinstance(when, str):
                self.prefixes[when[:7]] += 1
            if answer.pop("removed_at", None) is not None:
                continue
            self.read += 1
            ident = key_of(answer.pop("_id", None))
            if ident is not None and (self.newest is None or ident > self.newest):
                self.newest = ident
            month = month_of(answer)
            released = month is not None and self.frontier is not None and month <= self.frontier
            if not released and (month is None or month <= self.due):  # no month: counted as skipped
                yield answer

    def settled(self, frontier: str | None) -> int | None:
        """How many stored answers a read of the months after `frontier` leaves out (none released: None)."""
        if frontier is None:
            return None
        start = next_month(frontier)
        return self.stored - sum(count for prefix, count in self.prefixes.items() if prefix >= start)

    @property
    def late(self) -> int:
        now = self.settled(self.frontier)
        return 0 if now is None or self.before is None else max(0, now - self.before)


def attributes(staff: Staff) -> list[str]:
    """Every attribute some stored employee has (in any version)."""
    return sorted({name for versions in staff.versions.values() for v in versions for name in v.attributes})


def check_segments(known: Iterable[str], segments: Iterable[str]) -> None:
    """Every segment must be one of the `known` attributes (none stored: nothing to check)."""
    known = list(known)
    unknown = [name for name in segments if name not in known]
    if known and unknown:
        msg = (
            f"PEAKON_MART_SEGMENTS: no stored employee has {', '.join(map(repr, unknown))}; "
            f"known attributes: {', '.join(known)}"
        )
        raise MartsConfigError(msg)


# -- ranges: sums of released monthly rows ---------------------------------------------------------
def span(state: State, first: str | None, last: str | None) -> tuple[str, str]:
    """The range asked for, within what is released (either end defaults to the released ones)."""
    frontier = state.frontier
    if frontier is None:
        raise RangeError("no month is released yet: a range sums released months")
    last = last or frontier
    if last > frontier:
        msg = f"--to {last}: not released yet; the latest released month is {frontier}"
        raise RangeError(msg)
    return first or min(state.released), last


def ranged(db: Database[Document], name: str, first: str, last: str) -> Iterator[tuple[Document, list[Document]]]:
    """Each group's range row, from the monthly rows of `first`..`last` of the same identity (with them).
    `respondents` is null: distinct people cannot be summed over months."""
    groups: dict[tuple[Any, ...], list[Document]] = {}
    for row in db[PREFIX + name].find({"month": {"$gte": first, "$lte": last}}, {"_id": 0}):
        if "." not in str(row.get("month")):  # monthly rows only
            groups.setdefault(identity(name, row), []).append(row)
    for months in groups.values():
        months.sort(key=lambda row: row["month"])
        total = {f: sum(row[f] for row in months) for f in SUMMED}
        answers = total["answers"]
        yield (
            {
                **months[-1],
                "month": f"{first}..{last}",
                "respondents": None,
                **total,
                "score_mean": round(total["score_sum"] / answers, 2),
                "nps": round(100 * (total["promoters"] - total["detractors"]) / answers),
                "complete": all(row["complete"] for row in months),
            },
            months,
        )


# -- explain: what each published figure counts ----------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """A published row and what it counts."""

    mart: str  # "manager_question" | "driver_segment" | "participation"
    row: Mapping[str, Any]  # as published in mart_<mart> (without _id), or as `export --from/--to` writes it
    members: frozenset[Any]  # answers_export `_id`s counted; participation: the employee keys in `employees`
    respondents: frozenset[Any] = frozenset()  # participation only: the employee keys in `respondents`


Counted = dict[tuple[str, str, tuple[Any, ...]], tuple[frozenset[Any], frozenset[Any]]]


def explain(db: Database[Document], ranges: Iterable[tuple[str, str]] = ()) -> list[Figure]:
    """Every figure currently published in the mart_* collections, plus the given (first, last) month
    ranges as export would compute them, each with the answers (or employees) it counts. For tests and
    audits only: it recomputes each released month from the answers it was read from (those stored
    up to its watermark) and the options it was released with."""
    from peakon_ingest.marts.compute import FIGURES  # noqa: PLC0415 - Polars only where it is used

    counted = recount(db, State.load(db))
    nothing: tuple[frozenset[Any], frozenset[Any]] = (frozenset(), frozenset())
    figures = []
    for name in FIGURES:
        for row in db[PREFIX + name].find({}, {"_id": 0}):
            members, respondents = counted.get((name, row["month"], identity(name, row)), nothing)
            figures.append(Figure(name, row, members, respondents))
    for first, last in ranges:
        for name in ("manager_question", "driver_segment"):
            for row, months in ranged(db, name, first, last):
                parts = [counted.get((name, m["month"], identity(name, m)), nothing)[0] for m in months]
                figures.append(Figure(name, row, frozenset().union(*parts)))
    return figures


def recount(db: Database[Document], state: State) -> Counted:
    """(mart, month, row identity) -> the answer `_id`s (participation: employees, respondents) each
    row of every released month counts, recomputed."""
    from peakon_ingest.marts import store  # noqa: PLC0415 - Polars only where it is used
    from peakon_ingest.marts.build import prepare  # noqa: PLC0415
    from peakon_ingest.marts.compute import FIGURES, compute  # noqa: PLC0415

    employees, history, catalog = list(store.employees(db)), list(store.history(db)), store.catalog(db)
    stored = [
        ({"_id": doc["_id"], **doc.get("attributes", {})}, aware(doc.get("removed_at")))
        for doc in db["answers_export"].find({}, {"attributes": 1, "removed_at": 1})
    ]
    counted: Counted = {}
    for month, doc in state.released.items():
        watermark, released_at = state.months.get(month, {}).get("watermark"), aware(doc.get("released_at"))
        answers = [
            answer
            for answer, removed in stored
            if month_of(answer) == month
            and (watermark is None or answer["_id"] <= watermark)
            and (removed is None or (released_at is not None and removed > released_at))
        ]
        options = Options(min_respondents=doc["min_respondents"], segments=tuple(doc["segments"]))
        read, org = prepare(employees, history, answers, catalog)
        computed = compute(read, org, options, [month], explain=True).months.get(month)
        if computed is None:
            continue
        for name in FIGURES:
            for row, (members, respondents) in zip(computed.rows[name], computed.members[name], strict=True):
                ids = frozenset(members) if name == "participation" else frozenset(read.ids[r] for r in members)
                counted[(name, month, identity(name, row))] = (ids, frozenset(respondents))
    return counted
