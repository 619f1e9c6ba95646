"""The org chart the simulator serves: one CEO, teams of 3-12, four levels or more, a few orphans,
departments by branch, and the manager reference where each kind of tenant keeps it."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from peakon_simulator.generator import DEPARTMENTS
from peakon_simulator.state import MANAGER_FIELDS
from peakon_simulator.testing import SimulatorFactory, bearer_session, control


def employees(make_simulator: SimulatorFactory, count: int, **switches: object) -> list[dict[str, Any]]:
    sim = make_simulator(answers=10, employees=count, **switches)
    reply = bearer_session(sim).get(f"{sim.base_url}/employees?per_page=10000", timeout=30)
    reply.raise_for_status()
    return list(reply.json()["data"])


def manager_of(item: dict[str, Any], field: str = MANAGER_FIELDS[0]) -> str | None:
    part, name = field.split(".")
    reference = (item.get(part) or {}).get(name)
    return None if reference is None else str(reference["data"]["id"])


def test_the_org_chart_is_a_realistic_tree(make_simulator: SimulatorFactory) -> None:
    items = employees(make_simulator, 1000)
    ids = {item["id"] for item in items}
    managers = {item["id"]: manager_of(item) for item in items}
    roots = [key for key, manager in managers.items() if manager is None]
    orphans = [key for key, manager in managers.items() if manager is not None and manager not in ids]
    assert len(roots) == 1
    assert 3 <= len(orphans) <= 30  # a few, not none
    spans = Counter(manager for manager in managers.values() if manager in ids)
    # Every team has 3-12 people but the last one filled (the employee count cuts it short) and
    # those that lost someone to orphanhood.
    assert sum(span < 3 for span in spans.values()) <= 1 + len(orphans)
    assert max(spans.values()) <= 12

    def depth(key: str | None) -> int:
        steps = 0
        while (key := managers[key] if key is not None else None) in ids:
            steps += 1
        return steps

    assert max(depth(key) for key in ids) >= 4
    for item in items:  # a team shares its department with its manager (below the department heads)
        manager = managers[item["id"]]
        attributes = item["attributes"]
        assert attributes["Department"] in DEPARTMENTS
        if manager in ids and attributes["Sub-Department"] is not None:
            assert attributes["Sub-Department"] in DEPARTMENTS[attributes["Department"]]
            boss = next(i for i in items if i["id"] == manager)["attributes"]
            assert boss["Department"] == attributes["Department"]


@pytest.mark.parametrize("field", MANAGER_FIELDS)
def test_the_manager_reference_sits_where_the_switch_says(make_simulator: SimulatorFactory, field: str) -> None:
    items = employees(make_simulator, 50, manager_field=field)
    assert [manager_of(item, field) for item in items] == [manager_of(item) for item in employees(make_simulator, 50)]
    assert sum(manager_of(item, field) is not None for item in items) == 49
    others = [f for f in MANAGER_FIELDS if f != field]
    assert all(manager_of(item, other) is None for item in items for other in others)


def test_an_unknown_manager_field_is_refused(make_simulator: SimulatorFactory) -> None:
    sim = make_simulator(answers=10, employees=5)
    with pytest.raises(Exception, match="400"):
        control(sim, "POST", "switches", {"manager_field": "attributes.boss"})
