"""Run `peakon-ingest` as a real process with a clean environment pointed at a simulator and MongoDB."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorThread
from pymongo.collection import Collection


def cli_env(sim: SimulatorThread | None, mongo_uri: str, database: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PEAKON_", "MONGO_", "TAP_", "TARGET_"))}
    env.update(
        {
            "PEAKON_APP_TOKEN": DEFAULT_APP_TOKEN,
            "PEAKON_BASE_URL": sim.base_url if sim else "http://127.0.0.1:9/api/v1",
            "MONGO_URI": mongo_uri,
            "MONGO_DB": database,
            "PEAKON_PER_PAGE": "1000",
            "PEAKON_BACKOFF_BASE_SECONDS": "0.01",
            "MONGO_TIMEOUT_SECONDS": "3",
        }
    )
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peakon_ingest.cli", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def start_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "peakon_ingest.cli", *args],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_documents(collection: Collection[dict[str, Any]], count: int, timeout: float = 90) -> None:
    """Until `collection` holds `count` documents (a run is under way), or `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while collection.count_documents({}) < count and time.monotonic() < deadline:
        time.sleep(0.2)
