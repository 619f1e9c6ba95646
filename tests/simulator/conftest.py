from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from peakon_ingest.simulator import SimulatorThread


def bearer_session(sim: SimulatorThread) -> requests.Session:
    session = requests.Session()
    reply = session.post(f"{sim.base_url}/auth/application", json={"token": sim.state.app_token}, timeout=10)
    reply.raise_for_status()
    session.headers["Authorization"] = f"Bearer {reply.json()['data']['id']}"
    return session


@pytest.fixture
def api(simulator: SimulatorThread) -> Iterator[requests.Session]:
    with bearer_session(simulator) as session:
        yield session


def control(sim: SimulatorThread, method: str, action: str, body: object = None) -> Any:
    reply = requests.request(method, f"{sim.root}/_sim/{action}", json=body, timeout=10)
    reply.raise_for_status()
    return reply.json()
