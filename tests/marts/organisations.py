"""Organisations for the audit and the attacks, stored straight into MongoDB as the ingest stores them
(`employees`, `employees_history`, `answers_export`, `drivers_catalog`): crafted ones that break
today's marts, and random ones (orphans, cycles, moves, leavers, heads outside any team, the three
manager layouts) from a seed."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database

Db = Database[dict[str, Any]]
CATALOG = {"101": ("Autonomy", None), "102": ("Growth", "Mastery"), "103": ("Growth", "Learning")}
QUESTIONS = (("q1", "101"), ("q2", "102"), (77, "103"), ("q4", "999"))  # 999: a category not in the catalog
LAYOUTS = ("relationships.manager", "relationships.Manager", "attributes.manager")
HISTORY_START = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
MOVE = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)


def record(
    who: Any, manager: Any, department: str | None, sub: str | None, layout: str, hired: str | None = None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {"name": f"Person {who}", "identifier": f"EXT-{who}", "Department": department}
    attributes["Sub-Department"] = sub
    if hired is not None:
        attributes["employmentStart"] = hired
    doc: dict[str, Any] = {"_id": who, "id": str(who), "attributes": attributes, "relationships": {}}
    if manager is not None:
        part, name = layout.split(".")
        doc[part][name] = {"data": {"type": "employees", "id": str(manager)}}
    return doc


def answer(
    ident: int, who: Any, question: tuple[Any, str], when: str, score: Any, kind: str = "scale"
) -> dict[str, Any]:
    """An answers_export document (`_id` is `answerId`, as the target stores it)."""
    attributes = {
        "answerId": ident, "employeeId": str(who), "questionId": question[0], "categoryId": question[1],
        "questionType": kind, "answerScore": score, "responseAnsweredAt": when, "questionText": "How?",
        "answerLocale": "en",
    }  # fmt: skip
    return {"_id": ident, "attributes": attributes}


@dataclass(repr=False)
class Organisation:
    employees: list[dict[str, Any]]
    history: list[dict[str, Any]]
    answers: list[dict[str, Any]]
    later: list[dict[str, Any]] = field(default_factory=list)  # stored between two builds
    k: int = 5
    about: str = "crafted"  # how to make it again (a failing example is reported by this)

    def __repr__(self) -> str:
        return f"Organisation({self.about}, {len(self.employees)} employees, {len(self.answers)} answers, k={self.k})"


def store(db: Db, organisation: Organisation) -> None:
    """Replace everything in `db` with `organisation` (its `later` answers are not stored): marts and
    the release state of an earlier example go too."""
    for name in db.list_collection_names():
        db.drop_collection(name)
    catalog = [{"_id": int(i), "Id": int(i), "Driver": d, "SubDriver": s} for i, (d, s) in CATALOG.items()]
    for name, docs in (("employees", organisation.employees), ("employees_history", organisation.history),
                       ("answers_export", organisation.answers), ("drivers_catalog", catalog)):  # fmt: skip
        if docs:
            db[name].insert_many([dict(doc) for doc in docs])


def add(db: Db, answers: list[dict[str, Any]]) -> None:
    if answers:
        db["answers_export"].insert_many([dict(doc) for doc in answers])


# -- crafted: the cases -------------------------------------------------------------------
M, R, H = 1, 2, 10  # the top manager; R reports to M; H heads department D and has no manager
R_TEAM = (3, 4, 5, 6, 7)
D_TEAM = (11, 12, 13, 14, 15)
CRAFTED_MONTHS = ("2026-06", "2026-07", "2026-08")
THIN_MONTH = "2026-09"  # only two of R's reports answer: a range ending here differs by a sub-k group


def crafted() -> Organisation:
    """Department E: M over R over R_TEAM (team(M) - direct(R) is R's own answers). Department D: H,
    in no manager's team, over D_TEAM (department D - direct(H) is H's own answers). In THIN_MONTH
    only two of R_TEAM answer. Every score differs, so a recovered sum names its answers."""
    layout = "relationships.manager"
    staff = [record(M, None, "E", "e", layout, "2020-01-01"), record(R, M, "E", "e", layout, "2020-01-01")]
    staff += [record(who, R, "E", "e", layout, "2020-01-01") for who in R_TEAM]
    staff += [record(H, None, "D", "d", layout, "2020-01-01")]
    staff += [record(who, H, "D", "d", layout, "2020-01-01") for who in D_TEAM]
    answers: list[dict[str, Any]] = []
    for n, month in enumerate((*CRAFTED_MONTHS, THIN_MONTH)):
        who_answers = [M, R, *R_TEAM, H, *D_TEAM] if month != THIN_MONTH else [R_TEAM[0], R_TEAM[1], H, *D_TEAM]
        for who in who_answers:
            for q, question in enumerate(QUESTIONS[:2]):
                ident = len(answers) + 1
                score = (who * 7 + n * 3 + q) % 11
                answers.append(answer(ident, who, question, f"{month}-1{q}T09:00:00Z", score))
    return Organisation(staff, [], answers)


def one_late_answer(organisation: Organisation) -> dict[str, Any]:
    """A new answer by one of H's reports (a group published on every layer) to a month already published."""
    ident = max(doc["_id"] for doc in organisation.answers) + 1
    return answer(ident, D_TEAM[2], QUESTIONS[0], f"{CRAFTED_MONTHS[-1]}-20T09:00:00Z", 7)


# -- random ---------------------------------------------------------------------------------------
MONTHS = ("2026-06", "2026-09", "2026-10", "2026-11")  # June: long before the first version


def random_organisation(seed: int, size: int, layout: str, k: int, textual: bool) -> Organisation:  # noqa: C901, FBT001
    """`size` employees under a few heads (no manager, or an orphan's), most in their manager's
    department; some move at MOVE, some leave, some have no history, a few managers form cycles.
    Answers over MONTHS, then `later` ones: late answers to the first months and new ones after."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets

    def ident(i: int) -> Any:
        return f"hmac-sha256:{i:04x}" if textual else 5000 + i

    heads = rng.randint(1, 3)

    def manager(i: int) -> Any:
        kind = rng.choices(["tree", "any", "orphan", "none"], [88, 4, 4, 4])[0]
        if i < heads or kind == "none":
            return ident(900 + rng.randint(0, 3)) if kind == "orphan" else None
        if kind == "orphan":
            return ident(900 + rng.randint(0, 3))
        return ident(rng.randrange(size) if kind == "any" else rng.randrange(max(i - 8, 0), i))

    def unit(boss: Any, units: dict[Any, str | None]) -> tuple[str | None, str | None]:
        inherited = units.get(boss)
        department = inherited if inherited is not None and rng.random() < 0.85 else rng.choice(["A", "B", "C", None])
        return department, rng.choice(["x", "y", None])

    def hired() -> str | None:
        return rng.choice([None, "2019-03-01", "2024-11-30", "2026-09-15T00:00:00Z"])

    employees, history, units = [], [], dict[Any, str | None]()
    for i in range(size):
        boss = manager(i)
        department, sub = unit(boss, units)
        units[ident(i)] = department
        start = hired()
        first = record(ident(i), boss, department, sub, layout, start)
        fate = rng.choices(["stays", "moves", "leaves", "no history"], [60, 15, 10, 15])[0]
        current = first
        if fate == "moves":
            current = record(ident(i), manager(i), *unit(boss, units), layout, start)
        if fate != "no history":
            history.append({"_id": f"{ident(i)}::a::1", "key": ident(i), "valid_from": HISTORY_START,
                            "valid_to": MOVE if fate in {"moves", "leaves"} else None, "record": first})  # fmt: skip
        if fate == "moves":
            history.append({"_id": f"{ident(i)}::b::2", "key": ident(i), "valid_from": MOVE, "valid_to": None,
                            "record": current})  # fmt: skip
        employees.append(current | ({"removed_at": MOVE} if fate == "leaves" else {}))

    counter = iter(range(1, 10**9))

    def answers(months: tuple[str, ...], share: float, days: tuple[int, int]) -> list[dict[str, Any]]:
        made = []
        for month in months:
            for i in range(size + 2):  # two beyond the staff: unknown employees
                for question in QUESTIONS:
                    if rng.random() >= share:
                        continue
                    roll = rng.random()
                    score: Any = rng.randint(0, 10)
                    score = str(score) if roll < 0.03 else None if roll < 0.05 else score
                    when = f"{month}-{rng.randint(*days):02d}T{rng.randint(0, 23):02d}:00:00.000Z"
                    kind = "text" if rng.random() < 0.05 else "scale"
                    made.append(answer(next(counter), ident(i), question, when, score, kind))
        return made

    first_answers = answers(MONTHS, 0.55, (1, 28))
    later = answers(MONTHS[1:3], 0.04, (1, 28)) + answers((MONTHS[3], "2026-12"), 0.3, (1, 28))
    about = f"random_organisation({seed}, {size}, {layout!r}, {k}, {textual})"
    return Organisation(employees, history, first_answers, later, k, about)
