"""The reliability suite: each scenario's outcome is collected for docs/RELIABILITY.md.

`RELIABILITY_REPORT=docs/RELIABILITY.md pytest tests/reliability` rewrites the report from the
results of that run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory
from pymongo import MongoClient

from tests.cli.helpers import cli_env, run_cli
from tests.reliability.checks import Snapshot, snapshot


@dataclass
class Scenario:
    name: str
    expected: str = ""  # the one right outcome, stated before the run
    happened: str = ""
    proof: str = ""


_SCENARIOS: dict[str, Scenario] = {}
_OUTCOMES: dict[str, str] = {}
SIMULATOR = {"answers": 6_000, "employees": 300, "seed": 5}


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Scenario:
    """A test describes what happened and which check proves it; the outcome comes from pytest."""
    entry = Scenario(name=request.node.name)
    _SCENARIOS[request.node.nodeid] = entry
    return entry


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _OUTCOMES[report.nodeid] = report.outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("RELIABILITY_REPORT")
    if not target or not _SCENARIOS:
        return
    lines = [
        "# Reliability",
        "",
        (
            "Written by the reliability suite (`RELIABILITY_REPORT=docs/RELIABILITY.md make test "
            "SUITES=tests/reliability`) from the results of its last run: real processes, the Peakon "
            "simulator's faults and MongoDB (the embedded nx-27017 server, or `MONGO_TEST_URI`). After "
            "every scenario states its one expected outcome before it runs: the run recovers (with the "
            "exact retries and the waits the server asked for) or it fails (with the exact error class and "
            "message). Either way the collections are compared with those of one clean full run: the same "
            "`_id`s and contents, no duplicates, nothing missing, and the answers bookmark never ahead of "
            "the answers written (for a failed run, after the next run)."
        ),
        "",
        "| scenario | expected outcome | what happened | the check that proves it | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    for nodeid, entry in _SCENARIOS.items():
        outcome = _OUTCOMES.get(nodeid, "not run")
        cells = (entry.name, entry.expected, entry.happened, entry.proof, outcome)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, mongo_client: MongoClient[dict[str, Any]], mongo_uri: str
) -> Iterator[Snapshot]:
    """The collections of one clean full run against the standard simulator."""
    from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorState  # noqa: PLC0415

    state = SimulatorState(company_id=22182, app_token=DEFAULT_APP_TOKEN, **SIMULATOR)
    name = f"reference_{os.getpid()}"
    with SimulatorThread(state) as sim:
        done = run_cli(["ingest"], cli_env(sim, mongo_uri, name, PEAKON_PER_PAGE="500"), tmp_path_factory.mktemp("ref"))
        assert done.returncode == 0, done.stderr[-3000:]
    yield snapshot(mongo_client[name])
    mongo_client.drop_database(name)


@pytest.fixture
def sim(make_simulator: SimulatorFactory) -> SimulatorThread:
    return make_simulator(**SIMULATOR)
