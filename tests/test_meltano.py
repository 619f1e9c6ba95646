"""`meltano run tap-peakon target-mongo-upsert` end to end, against the simulator and MongoDB."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorThread
from pymongo.database import Database

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def meltano() -> str:
    path = os.environ.get("MELTANO_BIN") or shutil.which("meltano")
    if not path:
        pytest.fail("meltano not found: run the suite with `make test` (it installs Meltano) or set MELTANO_BIN")
    return path


def test_meltano_runs_the_pipeline(
    tmp_path: Path, meltano: str, simulator: SimulatorThread, mongo_uri: str, mongo_db: Database[dict[str, Any]]
) -> None:
    project = tmp_path / "project"  # a copy, so Meltano's .meltano/ never lands in the checkout
    project.mkdir()
    shutil.copy(ROOT / "meltano.yml", project)
    for package in ("tap-peakon", "target-mongo-upsert"):
        shutil.copytree(ROOT / package, project / package, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PEAKON_", "MONGO_"))},
        "PEAKON_APP_TOKEN": DEFAULT_APP_TOKEN,
        "PEAKON_BASE_URL": simulator.base_url,
        "PEAKON_PER_PAGE": "1000",
        "MONGO_URI": mongo_uri,
        "MONGO_DB": mongo_db.name,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    install = subprocess.run(
        [meltano, "install"], cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert install.returncode == 0, install.stderr[-3000:]
    run = subprocess.run(
        [meltano, "run", "tap-peakon", "target-mongo-upsert"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    counts = {name: mongo_db[name].count_documents({}) for name in mongo_db.list_collection_names()}
    assert counts == {
        "answers_export": 2500, "employees": 250, "drivers": 18, "scores_contexts": 68, "scores_by_driver": 68,
        "drivers_catalog": 17, "sync_state": 3,
    }  # fmt: skip
    assert DEFAULT_APP_TOKEN not in run.stderr + run.stdout
