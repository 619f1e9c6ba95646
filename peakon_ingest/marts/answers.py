"""The scored answers, read once into compact columns: who, when (month and org-chart epoch), which
question and category, and the score. Comments and free text are never read."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from peakon_ingest.marts.people import Key, epoch_of, key_of

# The fields of `attributes` the marts read (a projection: nothing else leaves the database).
FIELDS = (
    "employeeId", "questionId", "questionText", "questionType", "answerScore", "answerLocale", "categoryId",
    "responseAnsweredAt",
)  # fmt: skip
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
CHUNK = 100_000  # rows gathered in Python before they become columns
MARGIN_MONTHS = 2  # a time zone offset moves an answer across one month's edge at most


def score(answer: Mapping[str, Any]) -> float | None:
    """The score of a scored answer (`questionType` scale and a number; the wire may send the number
    as text), else None."""
    if answer.get("questionType") != "scale":
        return None
    value = answer.get("answerScore")
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def month_of(answer: Mapping[str, Any]) -> str | None:
    """`YYYY-MM`: the first 7 characters of `responseAnsweredAt`, when they are a month."""
    when = answer.get("responseAnsweredAt")
    month = when[:7] if isinstance(when, str) else None
    return month if month is not None and MONTH.fullmatch(month) else None


def moment(text: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass
class Question:
    texts: Counter[tuple[bool, str]] = field(default_factory=Counter)  # (in English?, text)
    categories: Counter[str] = field(default_factory=Counter)

    def text(self) -> str | None:
        """The text of an `en` answer where one exists, else the most common one."""
        if not self.texts:
            return None
        english = [(n, t) for (en, t), n in self.texts.items() if en]
        pool = english or [(n, t) for (_, t), n in self.texts.items()]
        return max(pool, key=lambda pair: (pair[0], pair[1]))[1]

    def category(self) -> str | None:
        return max(self.categories.items(), key=lambda pair: (pair[1], pair[0]))[0] if self.categories else None


@dataclass
class Answers:
    """Columns: row (its number), emp (code), epoch, month, question (code), category, score."""

    frame: pl.DataFrame
    employees: list[Key]
    questions: list[Key]
    about: list[Question]
    skipped: int  # answers with no usable employee, month or time
    ids: list[Any] = field(default_factory=list)  # each row's answer `_id`, where the reads carried one


class Epochs:
    """An answer's epoch: how many org-chart changes (`boundaries`) came before it. Answers from two
    months or more before the first change need no parsing: whatever their offset, they precede it."""

    def __init__(self, boundaries: list[dt.datetime]) -> None:
        self.boundaries = boundaries
        self.surely_before = ""  # months before this one (`YYYY-MM`) precede every boundary
        if boundaries:
            months = boundaries[0].year * 12 + boundaries[0].month - 1 - MARGIN_MONTHS
            self.surely_before = f"{months // 12}-{months % 12 + 1:02d}"

    def of(self, answered_at: str, month: str) -> int | None:
        if not self.boundaries or month < self.surely_before:
            return 0
        when = moment(answered_at)
        return None if when is None else epoch_of(self.boundaries, when)


def read(answers: Iterable[Mapping[str, Any]], boundaries: list[dt.datetime]) -> Answers:
    """`answers`: each answer's attributes (at least FIELDS). `boundaries`: when the org chart
    changed; an answer's epoch is how many of them it follows."""
    epochs = Epochs(boundaries)
    employees: dict[Key, int] = {}
    questions: dict[Key, int] = {}
    about: list[Question] = []
    columns: dict[str, list[Any]] = {name: [] for name in ("emp", "epoch", "month", "question", "category", "score")}
    chunks: list[pl.DataFrame] = []
    skipped = 0
    ids: list[Any] = []
    for answer in answers:
        value = score(answer)
        if value is None:
            continue
        employee, question, month = key_of(answer.get("employeeId")), key_of(answer.get("questionId")), month_of(answer)
        epoch = epochs.of(answer["responseAnsweredAt"], month) if month else None
        if employee is None or question is None or epoch is None or month is None:
            skipped += 1
            continue
        code = questions.setdefault(question, len(questions))
        if code == len(about):
            about.append(Question())
        text, category = answer.get("questionText"), answer.get("categoryId")
        if isinstance(text, str) and text:
            about[code].texts[(str(answer.get("answerLocale") or "").lower().startswith("en"), text)] += 1
        category = None if category is None else str(category)
        if category is not None:
            about[code].categories[category] += 1
        if "_id" in answer:
            ids.append(answer["_id"])
        columns["emp"].append(employees.setdefault(employee, len(employees)))
        columns["epoch"].append(epoch)
        columns["month"].append(month)
        columns["question"].append(code)
        columns["category"].append(category)
        columns["score"].append(value)
        if len(columns["emp"]) >= CHUNK:
            chunks.append(_frame(columns))
    chunks.append(_frame(columns))
    frame = pl.concat(chunks).with_row_index("row")
    return Answers(frame, list(employees), list(questions), about, skipped, ids)


def _frame(columns: dict[str, list[Any]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        columns,
        schema={
            "emp": pl.Int32, "epoch": pl.Int32, "month": pl.String, "question": pl.Int32, "category": pl.String,
            "score": pl.Float64,
        },
    )  # fmt: skip
    for values in columns.values():
        values.clear()
    return frame
