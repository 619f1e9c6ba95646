"""Every endpoint of the simulator over real HTTP: paging, parameters, shapes, determinism."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from peakon_simulator import SimulatorThread
from peakon_simulator.generator import DRIVER_SLUGS, PeakonData
from peakon_simulator.testing import SimulatorFactory, bearer_session, control


def walk(session: requests.Session, url: str) -> list[Any]:
    pages = []
    next_url: str | None = url
    while next_url:
        reply = session.get(next_url, timeout=10)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        pages.append(page)
        next_url = page.get("links", {}).get("next")
    return pages


@pytest.mark.parametrize("per_page", ["0", "20001", "abc", None])
def test_answers_per_page_out_of_range_is_400(
    api: requests.Session, simulator: SimulatorThread, per_page: str | None
) -> None:
    params: dict[str, str] = {} if per_page is None else {"per_page": per_page}
    assert api.get(f"{simulator.base_url}/answers/export", params=params, timeout=5).status_code == 400


def test_answers_pages_carry_absolute_next_links_and_each_answer_once(
    api: requests.Session, simulator: SimulatorThread
) -> None:
    pages = walk(api, f"{simulator.base_url}/answers/export?per_page=1000")
    assert [len(p["data"]) for p in pages] == [1000, 1000, 500]
    first_next = pages[0]["links"]["next"]
    assert first_next.startswith(f"{simulator.base_url}/answers/export?")
    assert parse_qs(urlsplit(first_next).query) == {"per_page": ["1000"], "continuation": [pages[0]["data"][-1]["id"]]}
    assert pages[-1]["links"]["next"] is None
    ids = [a["attributes"]["answerId"] for p in pages for a in p["data"]]
    assert len(ids) == len(set(ids)) == 2500
    assert ids == sorted(ids)


def test_answers_have_realistic_attributes(api: requests.Session, simulator: SimulatorThread) -> None:
    answers = api.get(f"{simulator.base_url}/answers/export?per_page=2500", timeout=10).json()["data"]
    catalog_ids = {c.id for c in simulator.state.data.catalog}
    employee_ids = {str(5000 + i) for i in range(simulator.state.data.employee_count)}
    for answer in answers:
        attrs = answer["attributes"]
        assert answer["id"] == str(attrs["answerId"])
        assert attrs["categoryId"] in catalog_ids
        assert attrs["employeeId"] in employee_ids
        score = attrs["answerScore"]
        assert score is None or 0 <= score <= 10
        if attrs["questionType"] == "scale" and score is None:
            assert attrs["answerSkipReason"]
    assert any(a["attributes"]["answerComment"] for a in answers)
    assert any(a["attributes"]["answerSkipReason"] for a in answers)
    assert any(a["attributes"]["answerText"] for a in answers)


def test_continuation_returns_only_larger_answer_ids(api: requests.Session, simulator: SimulatorThread) -> None:
    cut = PeakonData.answer_id(1234)
    page = api.get(
        f"{simulator.base_url}/answers/export", params={"per_page": 5000, "continuation": cut}, timeout=10
    ).json()
    ids = [a["attributes"]["answerId"] for a in page["data"]]
    assert ids[0] == PeakonData.answer_id(1235)
    assert len(ids) == 2500 - 1235
    assert page["links"]["next"] is None


def test_appended_answers_are_served_after_the_old_ones(api: requests.Session, simulator: SimulatorThread) -> None:
    before = control(simulator, "GET", "state")
    after = control(simulator, "POST", "answers", {"count": 40})
    assert after["answers"] == 2540
    page = api.get(
        f"{simulator.base_url}/answers/export",
        params={"per_page": 100, "continuation": before["max_answer_id"]},
        timeout=10,
    ).json()
    assert len(page["data"]) == 40
    assert page["data"][-1]["attributes"]["answerId"] == after["max_answer_id"]


def test_same_seed_gives_identical_data_other_seed_differs(make_simulator: SimulatorFactory) -> None:
    def first_page(sim: SimulatorThread) -> Any:
        return bearer_session(sim).get(f"{sim.base_url}/answers/export?per_page=50", timeout=5).json()["data"]

    a, b, c = make_simulator(seed=7), make_simulator(seed=7), make_simulator(seed=8)
    assert first_page(a) == first_page(b)
    assert first_page(a) != first_page(c)


def test_employees_page_by_links_next(api: requests.Session, simulator: SimulatorThread) -> None:
    control(simulator, "POST", "switches", {"employees_per_page": 100})
    pages = walk(api, f"{simulator.base_url}/employees?per_page=10000")  # clamped to 100
    assert [len(p["data"]) for p in pages] == [100, 100, 50]
    employees = [e for p in pages for e in p["data"]]
    assert len({e["id"] for e in employees}) == 250
    attrs = employees[10]["attributes"]
    assert {"Department", "Sub-Department", "firstName", "lastName", "identifier"} <= set(attrs)
    assert employees[10]["relationships"]["manager"]["data"]["type"] == "employees"


def test_employees_meta_paging_switch(simulator: SimulatorThread, api: requests.Session) -> None:
    control(simulator, "POST", "switches", {"employees_meta_paging": True, "employees_per_page": 100})
    first = api.get(f"{simulator.base_url}/employees", timeout=5).json()
    assert "next" not in first["links"]
    assert first["meta"]["page"] == {"number": 1, "total": 3, "size": 100}
    last = api.get(f"{simulator.base_url}/employees", params={"page": 3}, timeout=5).json()
    assert len(last["data"]) == 50
    assert last["data"][-1]["id"] == str(5000 + 249)


@pytest.mark.parametrize("form", ["absolute", "root-relative", "relative", "query"])
def test_next_links_take_the_form_asked_for(api: requests.Session, simulator: SimulatorThread, form: str) -> None:
    control(simulator, "POST", "switches", {"next_link_form": form})
    link = api.get(f"{simulator.base_url}/answers/export", params={"per_page": 100}, timeout=5).json()["links"]["next"]
    expected = {
        "absolute": f"{simulator.base_url}/answers/export?",
        "root-relative": "/api/v1/answers/export?",
        "relative": "answers/export?",
        "query": "?",
    }[form]
    assert link.startswith(expected)
    assert "continuation=" in link


def test_drivers_one_per_spec_slug(api: requests.Session, simulator: SimulatorThread) -> None:
    data = api.get(f"{simulator.base_url}/engagement/drivers", timeout=5).json()["data"]
    assert [d["attributes"]["driver"] for d in data] == list(DRIVER_SLUGS)
    assert all({"scores", "participation"} <= set(d["attributes"]) for d in data)


def test_category_scores_have_several_time_points(api: requests.Session, simulator: SimulatorThread) -> None:
    data = api.get(f"{simulator.base_url}/scores/contexts/company_22182/group/engagement", timeout=5).json()["data"]
    assert {d["type"] for d in data} == {"category_scores"}
    times_by_category: dict[str, set[str]] = {}
    for item in data:
        times_by_category.setdefault(item["id"], set()).add(item["attributes"]["scores"]["time"])
    assert len(times_by_category) == len(simulator.state.data.catalog)
    assert all(len(times) > 1 for times in times_by_category.values())


def test_driver_as_group_is_422_unless_switched_on(api: requests.Session, simulator: SimulatorThread) -> None:
    url = f"{simulator.base_url}/scores/contexts/company_22182/group/autonomy"
    assert api.get(url, timeout=5).status_code == 422
    control(simulator, "POST", "switches", {"allow_driver_groups": True})
    reply = api.get(url, timeout=5)
    assert reply.status_code == 200
    assert reply.json()["data"]


def test_unknown_company_context_is_404(api: requests.Session, simulator: SimulatorThread) -> None:
    assert api.get(f"{simulator.base_url}/scores/contexts/company_1/group/engagement", timeout=5).status_code == 404


def test_request_log_records_method_path_query_status(api: requests.Session, simulator: SimulatorThread) -> None:
    api.get(f"{simulator.base_url}/answers/export?per_page=0", timeout=5)
    log = control(simulator, "GET", "requests")["requests"]
    assert isinstance(log, list)
    assert [(r["method"], r["path"], r["query"], r["status"]) for r in log] == [
        ("POST", "/api/v1/auth/application", "", 200),
        ("GET", "/api/v1/answers/export", "per_page=0", 400),
    ]
