"""Every mart against the plain computation of `oracle`, and the privacy rules as properties."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tests.marts import oracle
from tests.marts.oracle import Doc

FIGURES = ("respondents", "answers", "score_mean", "nps")


def compare(
    marts: Mapping[str, Sequence[Mapping[str, Any]]],
    employees: Sequence[Doc],
    history: Sequence[Doc],
    answers: Sequence[Doc],
    catalog: Mapping[str, tuple[Any, Any]],
    k: int,
    segments: tuple[str, ...],
    period: Callable[[str], tuple[str, str] | None] = oracle.monthly,
) -> None:
    """Each mart of `marts` present: figures, privacy rules, and (org, participation) every field."""
    world = oracle.World.of(employees, history)
    problems: list[str] = []

    groups = oracle.manager_groups(world, answers, period)
    shown = set()
    for row in marts["manager_question"]:
        name = (row["month"], row["question_id"], row["scope"], row["manager_id"])
        shown.add(name)
        assert name in groups, f"manager_question: {name} is no group"
        assert {f: row[f] for f in FIGURES} == groups[name].figures(), name
        label = world.current.get(row["manager_id"]) or world.versions[row["manager_id"]][-1][2]
        assert row["manager_identifier"] == label.get("attributes", {}).get("identifier")
    assert len(shown) == len(marts["manager_question"]), "a manager_question group appears twice"
    problems += [f"manager_question {p}" for p in oracle.privacy_problems(groups, shown, k)]

    groups = oracle.segment_groups(world, answers, catalog, segments, period)
    shown = set()
    for row in marts["driver_segment"]:
        name = (row["month"], row["driver"], row["sub_driver"], tuple(row["path"]))
        shown.add(name)
        assert name in groups, f"driver_segment: {name} is no group"
        assert {f: row[f] for f in FIGURES} == groups[name].figures(), name
        assert (row["segment"], row["segment_value"]) == (segments[len(row["path"]) - 1], row["path"][-1])
    assert len(shown) == len(marts["driver_segment"]), "a driver_segment group appears twice"
    problems += [f"driver_segment {p}" for p in oracle.privacy_problems(groups, shown, k)]
    assert not problems, "\n".join(problems[:20])
    if "participation" not in marts:  # a range export
        return

    starts = [oracle.aware(doc["valid_from"]) for doc in history]
    expected = oracle.participation(world, answers, segments[0], min((s for s in starts if s), default=None))
    published = {name: tally for name, tally in expected.items() if tally[1] >= k}
    got = {(r["month"], r["department"]): (r["employees"], r["respondents"]) for r in marts["participation"]}
    assert got == published
    assert all(r["rate"] == round(r["respondents"] / r["employees"], 3) for r in marts["participation"])

    rows = {row["_id"]: {f: v for f, v in row.items() if f != "_id"} for row in marts["org"]}
    assert rows == oracle.org(world, segments)
