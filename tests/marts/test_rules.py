"""The marts' rules as properties over many random organisations: every complete figure equals the
plain computation and every other one counts part of its group, each of at least k respondents, and
the build's own audit passes. Orphans, manager cycles, moves over time, leavers, unknown employees,
scores sent as text and ids of either type are all generated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from peakon_ingest.marts.atoms import audit
from peakon_ingest.marts.build import prepare
from peakon_ingest.marts.compute import FIGURES, compute
from peakon_ingest.marts.options import Options
from tests.marts.checks import compare
from tests.marts.organisations import CATALOG, record

SEGMENTS = ("Department", "Sub-Department")
HISTORY_START = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)
MOVE = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
MONTHS = ("2026-06", "2026-09", "2026-10", "2026-11")  # June: long before the first version


@st.composite
def answer(draw: st.DrawFn, size: int, ident: Callable[[int], Any]) -> dict[str, Any]:
    who = draw(st.integers(0, size + 1))  # two indices beyond the staff: unknown employees
    month, day, hour = draw(st.sampled_from(MONTHS)), draw(st.integers(1, 28)), draw(st.integers(0, 23))
    return {
        "employeeId": str(ident(who)),
        "questionId": draw(st.sampled_from(["q1", "q2", 77])),
        "questionType": draw(st.sampled_from(["scale"] * 9 + ["text"])),
        "answerScore": draw(st.one_of(st.integers(0, 10), st.none(), st.integers(0, 10).map(str))),
        "categoryId": draw(st.sampled_from([*CATALOG, "999"])),
        "responseAnsweredAt": f"{month}-{day:02d}T{hour:02d}:00:00.000Z",
        "questionText": "How?",
        "answerLocale": "en",
    }


@st.composite
def organisations(draw: st.DrawFn) -> dict[str, Any]:
    size = draw(st.integers(3, 40))
    textual = draw(st.booleans())  # pseudonymised tenants have text keys

    def ident(i: int) -> Any:
        return f"hmac-sha256:{i:04x}" if textual else 5000 + i

    place = draw(st.sampled_from(["relationships.manager", "relationships.Manager", "attributes.manager"]))

    def manager() -> Any:
        kind = draw(st.sampled_from(["tree", "tree", "tree", "any", "orphan", "none"]))
        if kind == "none":
            return None
        if kind == "orphan":
            return ident(900 + draw(st.integers(0, 3)))
        return ident(draw(st.integers(0, size - 1)))

    def unit() -> tuple[str | None, str | None]:
        return draw(st.sampled_from(["A", "B", None])), draw(st.sampled_from(["x", "y", None]))

    employees, history = [], []
    for i in range(size):
        first = record(ident(i), manager(), *unit(), place)
        fate = draw(st.sampled_from(["stays", "stays", "moves", "leaves", "no history"]))
        current = first
        if fate == "moves":
            current = record(ident(i), manager(), *unit(), place)
        if fate != "no history":
            history.append({"key": ident(i), "valid_from": HISTORY_START, "valid_to": MOVE if fate != "stays" else None,
                            "record": first})  # fmt: skip
        if fate == "moves":
            history.append({"key": ident(i), "valid_from": MOVE, "valid_to": None, "record": current})
        employees.append(current | ({"removed_at": MOVE} if fate == "leaves" else {}))
    answers = [draw(answer(size, ident)) for _ in range(draw(st.integers(0, 300)))]
    return {"employees": employees, "history": history, "answers": answers, "k": draw(st.integers(3, 6))}


# No shrinking: a failing organisation is reported as found (shrinking one takes minutes).
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def build(employees: list[Any], history: list[Any], answers: list[Any], k: int) -> dict[str, list[dict[str, Any]]]:
    """Every month released (the build's calendar aside), its audit passed."""
    computed = compute(*prepare(employees, history, answers, CATALOG), Options(min_respondents=k, segments=SEGMENTS))
    for month in computed.months.values():
        assert audit(month.table, k, month.figures) == []
    marts = {name: [row for month in computed.months.values() for row in month.rows[name]] for name in FIGURES}
    return {"org": computed.org, **marts}


@pytest.mark.timeout(300)  # a broken cycle check loops for ever: a failure, not a hang (it takes ~70 s)
@EXAMPLES
@given(organisations())
def test_every_mart_equals_the_plain_computation_and_keeps_the_privacy_rules(world: dict[str, Any]) -> None:
    rows = build(world["employees"], world["history"], world["answers"], world["k"])
    compare(rows, world["employees"], world["history"], world["answers"], CATALOG, world["k"], SEGMENTS)
    # The same documents read in another order give the same marts (ties are broken by name, not by order).
    again = build(world["employees"][::-1], world["history"][::-1], world["answers"][::-1], world["k"])
    assert {n: sorted(map(repr, r)) for n, r in rows.items()} == {n: sorted(map(repr, r)) for n, r in again.items()}


def test_a_small_sub_department_joins_the_smallest_atom_so_neither_can_be_subtracted() -> None:
    staff = [
        record(i, None, "D", sub, "relationships.manager") for i, sub in enumerate(["S1"] * 6 + ["S2"] * 7 + ["S3"] * 2)
    ]
    answers = [
        {"employeeId": str(doc["_id"]), "questionId": "q", "questionType": "scale", "answerScore": 8,
         "categoryId": "101", "responseAnsweredAt": "2026-11-02T10:00:00Z"}
        for doc in staff
    ]  # fmt: skip
    inputs = prepare(staff, [], answers, CATALOG)
    month = compute(*inputs, Options(min_respondents=5, segments=SEGMENTS)).months["2026-11"]
    shown = {tuple(row["path"]): row["respondents"] for row in month.rows["driver_segment"]}
    # S3 (2) is under the threshold, and so is its pool up to the whole question: it joins the
    # smallest atom, S1's, which then lies in no sub-department: D minus S2 gives S1 and S3 together.
    assert shown == {("D",): 15, ("D", "S2"): 7}
