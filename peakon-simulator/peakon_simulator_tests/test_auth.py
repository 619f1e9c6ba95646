"""Authentication and bearer tokens, over real HTTP."""

from __future__ import annotations

import time

import requests
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory, bearer_session, control


def test_json_token_exchange_returns_bearer_in_data_id(simulator: SimulatorThread) -> None:
    reply = requests.post(f"{simulator.base_url}/auth/application", json={"token": "sim-app-token"}, timeout=5)
    assert reply.status_code == 200
    data = reply.json()["data"]
    assert data["type"] == "bearer_tokens"
    assert data["id"].count(".") == 2  # header.payload.signature, like a JWT


def test_unknown_application_token_is_404(simulator: SimulatorThread) -> None:
    reply = requests.post(f"{simulator.base_url}/auth/application", json={"token": "nope"}, timeout=5)
    assert reply.status_code == 404


def test_form_only_switch_rejects_json_and_accepts_form(make_simulator: SimulatorFactory) -> None:
    sim = make_simulator(auth_form_only=True)
    url = f"{sim.base_url}/auth/application"
    assert requests.post(url, json={"token": "sim-app-token"}, timeout=5).status_code == 415
    reply = requests.post(url, data={"token": "sim-app-token"}, timeout=5)
    assert reply.status_code == 200
    assert reply.json()["data"]["id"]


def test_token_in_attributes_switch(make_simulator: SimulatorFactory) -> None:
    sim = make_simulator(token_in_attributes=True)
    reply = requests.post(f"{sim.base_url}/auth/application", json={"token": "sim-app-token"}, timeout=5)
    token = reply.json()["data"]["attributes"]["token"]
    ok = requests.get(f"{sim.base_url}/engagement/drivers", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert ok.status_code == 200


def test_api_requires_an_issued_bearer_token(simulator: SimulatorThread) -> None:
    url = f"{simulator.base_url}/engagement/drivers"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer forged"}, timeout=5).status_code == 401


def test_token_expires_after_n_requests(simulator: SimulatorThread) -> None:
    control(simulator, "POST", "switches", {"token_max_requests": 2})
    session = bearer_session(simulator)
    url = f"{simulator.base_url}/engagement/drivers"
    assert [session.get(url, timeout=5).status_code for _ in range(3)] == [200, 200, 401]
    fresh = bearer_session(simulator)  # a new exchange gets a new, working token
    assert fresh.get(url, timeout=5).status_code == 200


def test_token_expires_after_ttl(simulator: SimulatorThread) -> None:
    control(simulator, "POST", "switches", {"token_ttl_seconds": 0.2})
    session = bearer_session(simulator)
    url = f"{simulator.base_url}/engagement/drivers"
    assert session.get(url, timeout=5).status_code == 200
    time.sleep(0.3)
    assert session.get(url, timeout=5).status_code == 401
