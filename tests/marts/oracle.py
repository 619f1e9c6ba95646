"""The marts computed the plain way, from the stored documents, with dicts and loops: what the real
implementation (columns, joins, codes) is compared against. Rules as the README states them."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Doc = Mapping[str, Any]
EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


def key(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return int(text) if re.fullmatch(r"-?\d+", text.strip()) else text


def manager_of(record: Doc) -> Any:
    for part, name in (("relationships", "Manager"), ("relationships", "manager"), ("attributes", "manager")):
        reference = (record.get(part) or {}).get(name)
        if isinstance(reference, dict) and isinstance(reference.get("data"), dict):
            value = reference["data"].get("id")
            return None if value in (None, "") else key(value)
    return None


def aware(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def score_of(answer: Doc) -> float | None:
    if answer.get("questionType") != "scale":
        return None
    value = answer.get("answerScore")
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def month_end(month: str) -> dt.datetime:
    year, number = int(month[:4]), int(month[5:7])
    return dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=dt.UTC) - dt.timedelta(microseconds=1)


@dataclass
class World:
    """Employees over time, as the stored documents say."""

    versions: dict[Any, list[tuple[dt.datetime, dt.datetime | None, Doc]]] = field(default_factory=dict)
    current: dict[Any, Doc] = field(default_factory=dict)

    @classmethod
    def of(cls, employees: Iterable[Doc], history: Iterable[Doc]) -> World:
        world = cls()
        for doc in history:
            world.versions.setdefault(key(doc["key"]), []).append(
                (aware(doc["valid_from"]) or EARLIEST, aware(doc.get("valid_to")), doc["record"])
            )
        for doc in employees:
            if doc.get("removed_at") is None:
                world.current[key(doc["_id"])] = doc
            world.versions.setdefault(key(doc["_id"]), [(EARLIEST, None, doc)])
        for versions in world.versions.values():
            versions.sort(key=lambda v: v[0])
        return world

    def record(self, who: Any, moment: dt.datetime) -> Doc:
        chosen = self.versions[who][0]
        for version in self.versions[who]:
            if version[0] <= moment:
                chosen = version
        return chosen[2]

    def chart(self, moment: dt.datetime | None) -> dict[Any, Any]:
        """Effective managers then (None: at the top, an orphan, or where a cycle is broken)."""
        if moment is None:
            managers = {who: manager_of(doc) for who, doc in self.current.items()}
        else:
            managers = {who: manager_of(self.record(who, moment)) for who in self.versions}
        return break_cycles({who: m if m in managers else None for who, m in managers.items()})


def break_cycles(managers: dict[Any, Any]) -> dict[Any, Any]:
    while True:
        for start in managers:
            walk, node = [], start
            while node is not None and node not in walk:
                walk.append(node)
                node = managers[node]
            if node is not None:
                loop = walk[walk.index(node) :]
                managers[min(loop, key=lambda k: (isinstance(k, str), k))] = None
                break
        else:
            return managers


def above(chart: Mapping[Any, Any], who: Any) -> list[Any]:
    chain = []
    while chart.get(who) is not None:
        who = chart[who]
        chain.append(who)
    return chain


@dataclass
class Group:
    parent: Any
    answers: list[tuple[Any, float]] = field(default_factory=list)

    @property
    def respondents(self) -> set[Any]:
        return {who for who, _ in self.answers}

    def figures(self) -> dict[str, Any]:
        scores = [s for _, s in self.answers]
        return {
            "respondents": len(self.respondents),
            "answers": len(scores),
            "score_mean": round(sum(scores) / len(scores), 2),
            "nps": round(100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)),
        }


def scored(answers: Iterable[Doc]) -> Iterable[tuple[Doc, float, str, dt.datetime]]:
    for answer in answers:
        value, when = score_of(answer), answer.get("responseAnsweredAt")
        if value is not None and isinstance(when, str) and answer.get("employeeId") not in (None, ""):
            yield answer, value, when[:7], dt.datetime.fromisoformat(when).astimezone(dt.UTC)


def monthly(month: str) -> tuple[str, str] | None:
    """The period of a month: its label and its last month (a range export maps months onto one)."""
    return month, month


def manager_groups(
    world: World, answers: Iterable[Doc], period: Callable[[str], tuple[str, str] | None] = monthly
) -> dict[tuple[Any, ...], Group]:
    """(period, question, scope, manager) -> group; parents are keys of the same dict."""
    groups: dict[tuple[Any, ...], Group] = {}
    for answer, value, answered_in, when in scored(answers):
        if (label := period(answered_in)) is None:
            continue
        month, last = label
        who, question = key(answer["employeeId"]), key(answer["questionId"])
        if who not in world.versions:
            continue
        manager = world.chart(when)[who]
        if manager is None:
            continue
        end = world.chart(month_end(last))
        line = [manager, *above(end, manager)]
        direct = (month, question, "direct", manager)
        groups.setdefault(direct, Group((month, question, "team", manager))).answers.append((who, value))
        for node in line:
            parent = end[node]
            team = (month, question, "team", node)
            groups.setdefault(team, Group(None if parent is None else (month, question, "team", parent)))
            groups[team].answers.append((who, value))
    return groups


def segment_groups(
    world: World,
    answers: Iterable[Doc],
    catalog: Mapping[str, tuple[Any, Any]],
    segments: tuple[str, ...],
    period: Callable[[str], tuple[str, str] | None] = monthly,
) -> dict[tuple[Any, ...], Group]:
    """(period, driver, sub-driver, path of segment values) -> group."""
    groups: dict[tuple[Any, ...], Group] = {}
    for answer, value, answered_in, when in scored(answers):
        if (label := period(answered_in)) is None:
            continue
        month = label[0]
        who, category = key(answer["employeeId"]), str(answer.get("categoryId"))
        if category not in catalog:
            continue
        attributes = world.record(who, when).get("attributes", {}) if who in world.versions else {}
        values = tuple(attributes.get(s) for s in segments)
        for depth in range(1, len(segments) + 1):
            path = values[:depth]
            name = (month, *catalog[category], path)
            parent = (month, *catalog[category], path[:-1]) if depth > 1 else None
            groups.setdefault(name, Group(parent)).answers.append((who, value))
    return groups


def hired(world: World, who: Any, end: dt.datetime) -> dt.datetime | None:
    """`employmentStart` of the record valid at `end`, else of the first record with one."""
    for record in [world.record(who, end), *(r for _, _, r in world.versions[who])]:
        value = record.get("attributes", {}).get("employmentStart")
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value[:10]).replace(tzinfo=dt.UTC)
            except ValueError:
                continue
    return None


def participation(world: World, answers: Iterable[Doc], segment: str) -> dict[tuple[str, Any], tuple[int, int]]:
    """(month, department) -> (employees, respondents), every group, before the threshold."""
    answered: dict[str, set[Any]] = defaultdict(set)
    for answer, _, month, _ in scored(answers):
        answered[month].add(key(answer["employeeId"]))
    out: dict[tuple[str, Any], tuple[int, int]] = {}
    for month, who_answered in answered.items():
        start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
        end = month_end(month)
        tally: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for who, versions in world.versions.items():
            first, last_to, hire = versions[0][0], versions[-1][1], hired(world, who, end)
            joined = hire <= end if hire is not None else first == EARLIEST or first <= end
            if joined and (last_to is None or last_to > start):
                unit = world.record(who, end).get("attributes", {}).get(segment)
                tally[unit][0] += 1
                tally[unit][1] += who in who_answered
        out.update({(month, unit): (e, r) for unit, (e, r) in tally.items()})
    return out


def org(world: World, segments: tuple[str, ...], *, named: bool = True) -> dict[Any, dict[str, Any]]:
    chart = world.chart(None)
    rows = {}
    for who, doc in world.current.items():
        attributes = doc.get("attributes", {})
        below = [other for other in chart if who in above(chart, other)]
        declared = manager_of(doc)
        rows[who] = {
            **(
                {
                    "name": attributes.get("name"),
                    "name_words": str(attributes["name"]).casefold().split() if attributes.get("name") else [],
                    "identifier": attributes.get("identifier"),
                }
                if named
                else {}
            ),
            "department": attributes.get(segments[0]),
            "sub_department": attributes.get(segments[1]) if len(segments) > 1 else None,
            "manager_id": declared,
            "chain": above(chart, who)[::-1],
            "depth": len(above(chart, who)),
            "direct_reports": sum(1 for other in chart if chart[other] == who),
            "total_reports": len(below),
            "orphan": declared is not None and declared not in world.current,
            "cycle": declared in world.current and chart[who] is None,
        }
    return rows
