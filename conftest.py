"""Fixtures shared by every test suite: the Peakon simulator and MongoDB.

MongoDB is the embedded `nx-27017` server unless `MONGO_TEST_URI` points at a real one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from peakon_ingest.embedded_mongo import EmbeddedMongo
from peakon_ingest.simulator import DEFAULT_APP_TOKEN, SimulatorState, SimulatorThread

SimulatorFactory = Callable[..., SimulatorThread]
# The read-only shared/ folder (Peakon's spec, the Compose spec): beside the project, or where
# PEAKON_SHARED_DIR says (.ci/run sets it for a clone made elsewhere).
SHARED = Path(os.environ.get("PEAKON_SHARED_DIR") or Path(__file__).resolve().parent.parent / "shared")


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    real = os.environ.get("MONGO_TEST_URI")
    if real:
        yield real
        return
    with EmbeddedMongo() as server:
        yield server.uri


@pytest.fixture(scope="session")
def mongo_client(mongo_uri: str) -> Iterator[MongoClient[dict[str, object]]]:
    with MongoClient[dict[str, Any]](mongo_uri, serverSelectionTimeoutMS=5000) as client:
        yield client


@pytest.fixture
def mongo_db(mongo_client: MongoClient[dict[str, object]]) -> Iterator[Database[dict[str, object]]]:
    """A database of this test's own, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield mongo_client[name]
    mongo_client.drop_database(name)


@pytest.fixture
def make_simulator() -> Iterator[SimulatorFactory]:
    """Start simulators over real HTTP on free loopback ports; all are stopped after the test."""
    started: list[SimulatorThread] = []

    def start(
        answers: int = 2_500,
        employees: int = 250,
        seed: int = 1,
        app_token: str = DEFAULT_APP_TOKEN,
        **switches: object,
    ) -> SimulatorThread:
        state = SimulatorState(answers=answers, employees=employees, seed=seed, company_id=22182, app_token=app_token)
        state.switches.update(switches)
        server = SimulatorThread(state).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def simulator(make_simulator: SimulatorFactory) -> SimulatorThread:
    return make_simulator()
