from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import bearer_session


@pytest.fixture
def api(simulator: SimulatorThread) -> Iterator[requests.Session]:
    with bearer_session(simulator) as session:
        yield session
