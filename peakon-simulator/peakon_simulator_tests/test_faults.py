"""Every injected fault and the rate limit, over real HTTP."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory, bearer_session, control


def fault(sim: SimulatorThread, **rule: object) -> None:
    control(sim, "POST", "faults", rule)


def test_429_with_retry_after_seconds(api: requests.Session, simulator: SimulatorThread) -> None:
    fault(simulator, kind="status", status=429, retry_after=3)
    reply = api.get(f"{simulator.base_url}/engagement/drivers", timeout=5)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "3"
    assert api.get(f"{simulator.base_url}/engagement/drivers", timeout=5).status_code == 200


def test_429_with_retry_after_http_date(api: requests.Session, simulator: SimulatorThread) -> None:
    fault(simulator, kind="status", status=429, retry_after=30, retry_after_form="http-date")
    reply = api.get(f"{simulator.base_url}/engagement/drivers", timeout=5)
    when = email.utils.parsedate_to_datetime(reply.headers["Retry-After"]).timestamp()
    assert 20 < when - time.time() <= 31


def test_429_without_retry_after(api: requests.Session, simulator: SimulatorThread) -> None:
    fault(simulator, kind="status", status=429)
    reply = api.get(f"{simulator.base_url}/engagement/drivers", timeout=5)
    assert reply.status_code == 429
    assert "Retry-After" not in reply.headers


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_burst_hits_n_requests_on_a_path_then_clears(
    api: requests.Session, simulator: SimulatorThread, status: int
) -> None:
    fault(simulator, kind="status", status=status, times=3, path="/answers/export")
    url = f"{simulator.base_url}/answers/export?per_page=10"
    assert api.get(f"{simulator.base_url}/employees", timeout=5).status_code == 200  # other paths unaffected
    assert [api.get(url, timeout=5).status_code for _ in range(4)] == [status, status, status, 200]


def test_skip_lets_requests_through_before_the_fault(api: requests.Session, simulator: SimulatorThread) -> None:
    fault(simulator, kind="status", status=500, skip=2, times=1)
    url = f"{simulator.base_url}/engagement/drivers"
    assert [api.get(url, timeout=5).status_code for _ in range(4)] == [200, 200, 500, 200]


def test_connection_reset_mid_response(api: requests.Session, simulator: SimulatorThread) -> None:
    fault(simulator, kind="reset", path="/answers/export")
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        api.get(f"{simulator.base_url}/answers/export?per_page=500", timeout=5)
    assert api.get(f"{simulator.base_url}/answers/export?per_page=500", timeout=5).status_code == 200


def test_slow_response_exceeds_client_timeout(api: requests.Session, simulator: SimulatorThread) -> None:
    fault(simulator, kind="slow", delay=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(f"{simulator.base_url}/engagement/drivers", timeout=0.3)


def test_truncated_json_body(api: requests.Session, simulator: SimulatorThread) -> None:
    fault(simulator, kind="truncate", path="/answers/export")
    reply = api.get(f"{simulator.base_url}/answers/export?per_page=100", timeout=5)
    assert reply.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        reply.json()


def test_links_next_loop_points_back_to_first_page(api: requests.Session, simulator: SimulatorThread) -> None:
    fault(simulator, kind="loop", path="/answers/export", skip=1)
    first = api.get(f"{simulator.base_url}/answers/export?per_page=100", timeout=5).json()
    second = api.get(first["links"]["next"], timeout=5).json()
    assert second["links"]["next"] == first["links"]["first"]


def test_hourly_rate_limit_answers_429(make_simulator: SimulatorFactory) -> None:
    sim = make_simulator(rate_limit_per_hour=5)
    session = bearer_session(sim)  # the token exchange counts too
    codes = [session.get(f"{sim.base_url}/engagement/drivers", timeout=5).status_code for _ in range(6)]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_bad_fault_definition_is_rejected(simulator: SimulatorThread) -> None:
    reply = requests.post(f"{simulator.root}/_sim/faults", json={"kind": "explode"}, timeout=5)
    assert reply.status_code == 400
    reply = requests.post(f"{simulator.root}/_sim/faults", json={"kind": "status", "colour": 1}, timeout=5)
    assert reply.status_code == 400


def test_reset_clears_faults_switches_and_appended_answers(simulator: SimulatorThread) -> None:
    fault(simulator, kind="status", status=500, times=-1)
    control(simulator, "POST", "switches", {"allow_driver_groups": True})
    control(simulator, "POST", "answers", {"count": 10})
    state = control(simulator, "POST", "reset")
    assert state["faults"] == []
    assert state["answers"] == 2500
    assert state["switches"]["allow_driver_groups"] is False
