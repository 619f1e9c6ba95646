"""The four attacks of issue 26, run as an analyst would: from the published surfaces only (the
`mart_*` collections, and `peakon-ingest export` as a child process), after `peakon-ingest marts`
built them. Each subtraction gives an answer count and a score sum (`score_sum` where published, else
the mean times the count, exact at these sizes); it is a recovery when those equal the true figures
of the answers it stands for (worked out from the raw answers by oracle) and they come from fewer
than k people. Each attack recovers groups on today's marts; none may on the release layer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database

from peakon_ingest.marts.options import NAMES, PREFIX
from tests.cli.helpers import cli_env, run_cli
from tests.marts import oracle, organisations, published
from tests.marts.audit import Raw, Scored, group
from tests.marts.organisations import CRAFTED_MONTHS, THIN_MONTH, Organisation

Db = Database[dict[str, Any]]
Row = Mapping[str, Any]
KEYS = {  # what names a group in each mart
    "manager_question": ("month", "question_id", "scope", "manager_id"),
    "driver_segment": ("month", "driver", "sub_driver", "path"),
}
ORGANISATIONS = {
    "crafted": organisations.crafted,
    "random": lambda: organisations.random_organisation(10, 60, "attributes.manager", 5, textual=False),
}


@dataclass
class Analyst:
    """Runs `peakon-ingest` as a child process and reads the marts, nothing else."""

    db: Db
    uri: str
    cwd: Path

    def build(self) -> dict[str, list[dict[str, Any]]]:
        """`peakon-ingest marts`, then every figures mart (and mart_org) as published."""
        done = run_cli(["marts"], cli_env(None, self.uri, self.db.name), self.cwd)
        assert done.returncode == 0, done.stderr[-3000:]
        return {name: list(self.db[PREFIX + name].find({}, None if name == "org" else {"_id": 0})) for name in NAMES}

    def export(self, name: str, first: str, last: str) -> list[dict[str, Any]]:
        args = ["export", name, "--from", first, "--to", last, "--format", "jsonl"]
        done = run_cli(args, cli_env(None, self.uri, self.db.name), self.cwd)
        assert done.returncode == 0, done.stderr[-3000:]
        return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def analyst(mongo_db: Db, mongo_uri: str, tmp_path: Path) -> Analyst:
    return Analyst(mongo_db, mongo_uri, tmp_path)


def stored(db: Db, organisation: Organisation) -> Raw:
    organisations.store(db, organisation)
    return Raw.read(db, published.SEGMENTS)


def figures(row: Row) -> tuple[int, float]:
    """What an analyst reads off a row: its answers and their score sum."""
    total = row.get("score_sum")
    return row["answers"], float(total if total is not None else round(row["score_mean"] * row["answers"]))


def difference(whole: Row, parts: Iterable[Row]) -> tuple[int, float]:
    count, total = figures(whole)
    for part in parts:
        n, s = figures(part)
        count, total = count - n, total - s
    return count, total


def recovery(found: tuple[int, float], truth: Iterable[Scored], k: int) -> str | None:
    """Whether `found` is exactly the figures of `truth`, answers of fewer than k people."""
    answers = list(truth)
    people = {a.who for a in answers}
    if answers and len(people) < k and found[0] == len(answers) and abs(found[1] - sum(a.value for a in answers)) < 0.5:
        return f"{len(answers)} answers of {sorted(map(str, people))}, score sum {found[1]:g}"
    return None


@dataclass
class Truth:
    """The answers each monthly group really holds, from the raw data by the auditor's rules."""

    raw: Raw
    known: dict[tuple[Any, ...], frozenset[Any]] = field(default_factory=dict)

    def manager(self, month: str, question: Any, scope: str, manager: Any) -> frozenset[Any]:
        row = {"month": month, "question_id": question, "scope": scope, "manager_id": manager}
        return self._group("manager_question", row)

    def segment(self, month: str, driver: Any, sub_driver: Any, path: tuple[Any, ...]) -> frozenset[Any]:
        return self._group("driver_segment", {"month": month, "driver": driver, "sub_driver": sub_driver, "path": path})

    def _group(self, mart: str, row: dict[str, Any]) -> frozenset[Any]:
        name = (mart, *(tuple(v) if isinstance(v, list) else v for v in row.values()))
        if name not in self.known:
            self.known[name] = group(mart, row, self.raw)
        return self.known[name]


def reports_of(org: Iterable[Row]) -> dict[Any, list[Any]]:
    """Who reports to whom, as mart_org draws the chart (a chain's last manager: cycles broken)."""
    reports: dict[Any, list[Any]] = {}
    for person in org:
        if person["chain"]:
            reports.setdefault(oracle.key(person["chain"][-1]), []).append(oracle.key(person["_id"]))
    return reports


def cover(
    manager: Any, month: str, question: Any, rows: Mapping[Any, Row], reports: Mapping[Any, list[Any]], *, top: bool
) -> list[tuple[Any, ...]]:
    """The published groups that tile `manager`'s team as far as they can (not the team itself at the top)."""
    team = (month, question, "team", manager)
    if not top and team in rows:
        return [team]
    direct = (month, question, "direct", manager)
    found = [direct] if direct in rows else []
    for report in reports.get(manager, []):
        found += cover(report, month, question, rows, reports, top=False)
    return found


@pytest.fixture(params=sorted(ORGANISATIONS))
def organisation(request: pytest.FixtureRequest) -> Organisation:
    made: Callable[[], Organisation] = ORGANISATIONS[request.param]
    return made()


def test_within_a_mart_a_team_minus_the_groups_below_it_recovers_no_group_under_k(
    analyst: Analyst, organisation: Organisation
) -> None:
    raw = stored(analyst.db, organisation)
    marts = analyst.build()
    reports = reports_of(marts["org"])
    rows = {(r["month"], oracle.key(r["question_id"]), r["scope"], oracle.key(r["manager_id"])): r
            for r in marts["manager_question"]}  # fmt: skip
    truth = Truth(raw)
    recovered, tried = [], 0
    for (month, question, scope, manager), team in rows.items():
        if scope != "team":
            continue
        # Subtract what is published below: the direct group, and per report their team, or where
        # that is hidden, what is published below it in turn.
        parts = cover(manager, month, question, rows, reports, top=True)
        whole = truth.manager(month, question, "team", manager)
        if not parts or any(not truth.manager(*name) <= whole for name in parts):
            continue  # not a clean subtraction
        rest = whole.difference(*(truth.manager(*name) for name in parts))
        tried += 1
        found = recovery(difference(team, [rows[n] for n in parts]), (raw.answers[a] for a in rest), organisation.k)
        if found:
            recovered.append(f"team {manager} {month} {question}: {found}")
    assert tried, "nothing to subtract: the attack proves nothing here"
    assert recovered == [], "\n".join(recovered[:10])


def test_across_marts_a_department_minus_the_manager_groups_inside_it_recovers_no_group_under_k(
    analyst: Analyst, organisation: Organisation
) -> None:
    raw = stored(analyst.db, organisation)
    marts = analyst.build()
    chains = {oracle.key(p["_id"]): [oracle.key(c) for c in p["chain"]] for p in marts["org"]}
    department = {oracle.key(p["_id"]): p["department"] for p in marts["org"]}
    reports = reports_of(marts["org"])
    teams = {m: {who for who, chain in chains.items() if m in chain} for m in reports}
    rows = {(r["month"], oracle.key(r["question_id"]), r["scope"], oracle.key(r["manager_id"])): r
            for r in marts["manager_question"]}  # fmt: skip
    questions: dict[tuple[str, Any, Any], set[Any]] = {}
    for r in marts["manager_question"]:
        driver = (r["month"], r.get("driver"), r.get("sub_driver"))
        questions.setdefault(driver, set()).add(oracle.key(r["question_id"]))
    truth = Truth(raw)
    recovered, tried = [], 0
    for row in marts["driver_segment"]:
        if len(row["path"]) != 1:
            continue
        month, unit = row["month"], row["path"][0]
        inside = {who for who, value in department.items() if value == unit}
        # The teams that sit wholly in the department, the largest of them, and what is published
        # of each (the team, or where it is hidden, what is published below it).
        within = [m for m, team in teams.items() if team <= inside]
        tops = [m for m in within if not any(m in teams[o] for o in within if o != m)]
        parts = [
            name
            for question in questions.get((month, row["driver"], row["sub_driver"]), set())
            for top in tops
            for name in cover(top, month, question, rows, reports, top=False)
        ]
        whole = truth.segment(month, row["driver"], row["sub_driver"], (unit,))
        if not parts or any(not truth.manager(*name) <= whole for name in parts):
            continue
        rest = whole.difference(*(truth.manager(*name) for name in parts))
        tried += 1
        found = recovery(difference(row, [rows[n] for n in parts]), (raw.answers[a] for a in rest), organisation.k)
        if found:
            recovered.append(f"department {unit} {month} {row['driver']}: {found}")
    # A random organisation may leave nothing to subtract on the release layer (few manager groups
    # published); the crafted one always has something on both layers.
    assert tried or organisation.about != "crafted", "nothing to subtract: the attack proves nothing here"
    assert recovered == [], "\n".join(recovered[:10])


def test_two_overlapping_ranges_differ_by_no_group_under_k(analyst: Analyst) -> None:
    organisation = organisations.crafted()
    raw = stored(analyst.db, organisation)
    analyst.build()
    first, before, last = CRAFTED_MONTHS[0], CRAFTED_MONTHS[-1], THIN_MONTH
    truth = Truth(raw)
    recovered, tried = [], 0
    for name in KEYS:
        keys = KEYS[name][1:]  # a range's rows: one per group, whatever its month
        longer = {tuple(json.dumps(r[f]) for f in keys): r for r in analyst.export(name, first, last)}
        shorter = {tuple(json.dumps(r[f]) for f in keys): r for r in analyst.export(name, first, before)}
        for named, row in longer.items():
            if named not in shorter:
                continue
            values = tuple(json.loads(v) for v in named)
            if name == "manager_question":
                held = truth.manager(last, oracle.key(values[0]), values[1], oracle.key(values[2]))
            else:
                held = truth.segment(last, values[0], values[1], tuple(values[2]))
            tried += 1
            found = recovery(difference(row, [shorter[named]]), (raw.answers[a] for a in held), organisation.k)
            if found:
                recovered.append(f"{name} {values} in {last}: {found}")
    assert tried, "nothing to subtract: the attack proves nothing here"
    assert recovered == [], "\n".join(recovered[:10])


def test_a_rebuild_after_one_new_answer_does_not_give_that_answer_away(analyst: Analyst) -> None:
    organisation = organisations.crafted()
    stored(analyst.db, organisation)
    before = analyst.build()
    late = organisations.one_late_answer(organisation)
    organisations.add(analyst.db, [late])
    after = analyst.build()
    raw = Raw.read(analyst.db, published.SEGMENTS)
    new = raw.answers[late["_id"]]
    recovered, tried = [], 0
    for name in ("manager_question", "driver_segment"):
        keys = KEYS[name]
        old = {json.dumps([r[f] for f in keys]): r for r in before[name]}
        for row in after[name]:
            named = json.dumps([row[f] for f in keys])
            if named not in old:
                continue
            tried += 1
            if found := recovery(difference(row, [old[named]]), [new], organisation.k):
                recovered.append(f"{name} {named}: {found}")
    assert tried, "nothing to subtract: the attack proves nothing here"
    assert recovered == [], "\n".join(recovered[:10])
