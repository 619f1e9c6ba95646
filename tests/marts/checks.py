"""Every mart against the plain computation of `oracle`: a `complete` row equals its whole group, any
other row counts part of it; every row counts at least k respondents; participation's rows partition
the staff. (That no set under k can be recovered from the rows is the exact auditor's to prove.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tests.marts import oracle
from tests.marts.oracle import Doc

FIGURES = ("respondents", "answers", "score_mean", "nps")


def matches(row: Mapping[str, Any], group: oracle.Group, k: int) -> None:
    """A complete row is its group's figures; an incomplete one counts fewer answers; either counts
    at least k respondents, and its mean and NPS are those of its own sums."""
    if row["complete"]:
        assert {f: row[f] for f in FIGURES} == group.figures(), row
    else:
        assert row["answers"] < len(group.answers), row
    assert row["respondents"] is None or row["respondents"] >= k, row
    assert row["score_mean"] == round(row["score_sum"] / row["answers"], 2), row
    assert row["nps"] == round(100 * (row["promoters"] - row["detractors"]) / row["answers"]), row


def compare(
    marts: Mapping[str, Sequence[Mapping[str, Any]]],
    employees: Sequence[Doc],
    history: Sequence[Doc],
    answers: Sequence[Doc],
    catalog: Mapping[str, tuple[Any, Any]],
    k: int,
    segments: tuple[str, ...],
    period: Callable[[str], tuple[str, str] | None] = oracle.monthly,
    *,
    named: bool = True,
) -> None:
    """Each mart of `marts` present: figures, privacy rules, and (org, participation) every field."""
    world = oracle.World.of(employees, history)

    groups = oracle.manager_groups(world, answers, period)
    shown = set()
    for row in marts["manager_question"]:
        name = (row["month"], row["question_id"], row["scope"], row["manager_id"])
        shown.add(name)
        assert name in groups, f"manager_question: {name} is no group"
        matches(row, groups[name], k)
        label = world.current.get(row["manager_id"]) or world.versions[row["manager_id"]][-1][2]
        assert row["manager_identifier"] == label.get("attributes", {}).get("identifier")
    assert len(shown) == len(marts["manager_question"]), "a manager_question group appears twice"

    groups = oracle.segment_groups(world, answers, catalog, segments, period)
    shown = set()
    for row in marts["driver_segment"]:
        name = (row["month"], row["driver"], row["sub_driver"], tuple(row["path"]))
        shown.add(name)
        assert name in groups, f"driver_segment: {name} is no group"
        matches(row, groups[name], k)
        assert (row["segment"], row["segment_value"]) == (segments[len(row["path"]) - 1], row["path"][-1])
    assert len(shown) == len(marts["driver_segment"]), "a driver_segment group appears twice"
    if "participation" not in marts:  # a range export
        return

    expected = oracle.participation(world, answers, segments[0])
    months = {month for month, _ in expected}
    for month in months:
        rows = [r for r in marts["participation"] if r["month"] == month]
        units = {unit: tally for (m, unit), tally in expected.items() if m == month}
        everyone = tuple(sum(tally[i] for tally in units.values()) for i in (0, 1))
        if min(everyone) < k:
            assert not rows, month
            continue
        departments = {r["department"]: (r["employees"], r["respondents"]) for r in rows if not r["pooled"]}
        assert all(units[unit] == tally and min(tally) >= k for unit, tally in departments.items()), month
        pooled = [(r["employees"], r["respondents"]) for r in rows if r["pooled"]]
        rest = [tally for unit, tally in units.items() if unit not in departments]
        assert pooled == ([tuple(sum(t[i] for t in rest) for i in (0, 1))] if rest else []), month
        assert all(min(tally) >= k for tally in pooled), month
    assert {r["month"] for r in marts["participation"]} <= months
    assert all(r["rate"] == round(r["respondents"] / r["employees"], 3) for r in marts["participation"])

    org = {row["_id"]: {f: v for f, v in row.items() if f != "_id"} for row in marts["org"]}
    assert org == oracle.org(world, segments, named=named)
