"""A pytest plugin (entry point `peakon_simulator.testing`): the Peakon simulator and MongoDB as fixtures.

Installed with the package, so every test suite of the repository (the tap's, the target's, the
operator's) gets the same fixtures. MongoDB is the embedded `nx-27017` server unless
`MONGO_TEST_URI` points at a real one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pymongo import MongoClient
from pymongo.database import Database

from peakon_simulator.embedded_mongo import EmbeddedMongo
from peakon_simulator.server import SimulatorThread
from peakon_simulator.state import DEFAULT_APP_TOKEN, SimulatorState

SimulatorFactory = Callable[..., SimulatorThread]
# The read-only shared/ folder (Peakon's spec, the Compose spec): PEAKON_SHARED_DIR, else beside
# the repository. A clone on its own has none: checks that need it skip, and CI (.ci/run) requires it.
REPOSITORY = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PEAKON_SHARED_DIR") or REPOSITORY.parent / "shared")


def shared_file(relative: str) -> Path:
    """A file of shared/, or a skip naming the missing file (the check cannot run without it)."""
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"needs shared/{relative}, not found at {path} (set PEAKON_SHARED_DIR)")
    return path


def control(sim: SimulatorThread, method: str, action: str, body: object = None) -> Any:
    """Call the simulator's control API (`/_sim/<action>`) and return its JSON answer."""
    reply = requests.request(method, f"{sim.root}/_sim/{action}", json=body, timeout=10)
    reply.raise_for_status()
    return reply.json()


def bearer_session(sim: SimulatorThread) -> requests.Session:
    """A session that sends a bearer token freshly exchanged with the simulator."""
    session = requests.Session()
    reply = session.post(f"{sim.base_url}/auth/application", json={"token": sim.state.app_token}, timeout=10)
    reply.raise_for_status()
    session.headers["Authorization"] = f"Bearer {reply.json()['data']['id']}"
    return session


def start_simulator(
    answers: int = 2_500, employees: int = 250, seed: int = 1, app_token: str = DEFAULT_APP_TOKEN, **switches: object
) -> SimulatorThread:
    state = SimulatorState(answers=answers, employees=employees, seed=seed, company_id=22182, app_token=app_token)
    state.switches.update(switches)
    return SimulatorThread(state).start()


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    real = os.environ.get("MONGO_TEST_URI")
    if real:
        yield real
        return
    with EmbeddedMongo() as server:
        yield server.uri


@pytest.fixture(scope="session")
def mongo_client(mongo_uri: str) -> Iterator[MongoClient[dict[str, Any]]]:
    with MongoClient[dict[str, Any]](mongo_uri, serverSelectionTimeoutMS=5000) as client:
        yield client


@pytest.fixture
def mongo_db(mongo_client: MongoClient[dict[str, Any]]) -> Iterator[Database[dict[str, Any]]]:
    """A database of this test's own, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield mongo_client[name]
    mongo_client.drop_database(name)


@pytest.fixture
def make_simulator() -> Iterator[SimulatorFactory]:
    """Start simulators over real HTTP on free loopback ports; all are stopped after the test."""
    started: list[SimulatorThread] = []

    def start(**options: Any) -> SimulatorThread:
        server = start_simulator(**options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def simulator(make_simulator: SimulatorFactory) -> SimulatorThread:
    return make_simulator()
