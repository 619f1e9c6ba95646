"""(No tests here.) A small company stored as an ingest would store it, for the release tests: a CEO over two
managers of six each, in two departments, answering two questions every month from September to
November 2026."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.database import Database

from peakon_ingest.marts.options import NAMES, PREFIX, Options

Db = Database[dict[str, Any]]
SEGMENTS = ("Department", "Sub-Department")
OPTIONS = Options(min_respondents=5, segments=SEGMENTS)
MONTHS = ("2026-09", "2026-10", "2026-11")
CATALOG = [{"_id": "101", "Id": "101", "Driver": "Autonomy", "SubDriver": None}]


def employee(who: int, manager: int | None, department: str, hired: str | None = "2020-01-01") -> dict[str, Any]:
    attributes: dict[str, Any] = {"name": f"Person {who}", "identifier": f"EXT-{who}", "Department": department}
    attributes["Sub-Department"] = "Core"
    if hired:
        attributes["employmentStart"] = hired
    doc: dict[str, Any] = {"_id": who, "attributes": attributes, "relationships": {}}
    if manager is not None:
        doc["relationships"]["manager"] = {"data": {"type": "employees", "id": str(manager)}}
    return doc


def staff() -> list[dict[str, Any]]:
    people = [employee(1, None, "Board"), employee(2, 1, "D1"), employee(3, 1, "D2")]
    people += [employee(10 + i, 2, "D1") for i in range(6)] + [employee(20 + i, 3, "D2") for i in range(6)]
    return people


def answer(ident: int, who: int, question: str, month: str, score: int, day: int = 3) -> dict[str, Any]:
    attributes = {
        "employeeId": str(who), "questionId": question, "questionType": "scale", "answerScore": score,
        "categoryId": "101", "responseAnsweredAt": f"{month}-{day:02d}T10:00:00.000Z", "questionText": "How?",
        "answerLocale": "en", "answerComment": "never read",
    }  # fmt: skip
    return {"_id": ident, "attributes": attributes}


def seed(db: Db, months: tuple[str, ...] = MONTHS) -> None:
    """The staff, the catalog, and everyone's answers to two questions in each of `months`."""
    people = staff()
    db["employees"].insert_many(people)
    db["drivers_catalog"].insert_many(CATALOG)
    answers, ident = [], 1_000
    for m, month in enumerate(months):
        for question in ("q1", "q2"):
            for p, person in enumerate(people):
                ident += 1
                answers.append(answer(ident, person["_id"], question, month, (p * 7 + m * 3 + len(question)) % 11))
    db["answers_export"].insert_many(answers)


def published(db: Db) -> dict[str, list[str]]:
    """Every mart's documents, each as sorted text (comparable build to build)."""
    names = [name for name in NAMES if name != "org"]
    return {
        name: sorted(
            repr(sorted(doc.items())) for doc in db[PREFIX + name].find({}, None if name == "release" else {"_id": 0})
        )
        for name in names
    }


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")


def move(db: Db, key: int, before: dict[str, Any], after: dict[str, Any], since: str, on: str) -> None:
    """Employee `key` was `before` from `since` and is `after` from `on`: their record and two versions."""
    db["employees"].replace_one({"_id": key}, after)
    db["employees_history"].insert_many(
        [
            {"_id": f"h{key}a", "key": key, "valid_from": at(since), "valid_to": at(on), "record": before},
            {"_id": f"h{key}b", "key": key, "valid_from": at(on), "valid_to": None, "record": after},
        ]
    )
