"""The README's shell blocks marked runnable (tests/readme_blocks.py) run as written, so they cannot
go stale: each in bash with `set -e`, in a scratch directory, the project's `.venv/bin` first on the PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from pymongo.database import Database

from tests.cli.helpers import cli_env
from tests.readme_blocks import README, blocks


def test_the_readme_marks_its_try_it_yourself_lines_runnable() -> None:
    found = blocks()
    assert any(sim and "peakon-ingest ingest" in script for sim, script in found)
    assert README.read_text(encoding="utf-8").count("<!-- runnable") == len(found)  # no marker without a block


@pytest.mark.parametrize("index", range(len(blocks())))
def test_a_runnable_block_runs_as_written(
    index: int, tmp_path: Path, simulator: SimulatorThread, mongo_uri: str, mongo_db: Database[dict[str, Any]]
) -> None:
    with_sim, script = blocks()[index]
    env = cli_env(simulator, mongo_uri, mongo_db.name) if with_sim else dict(os.environ)
    for tuning in ("PEAKON_PER_PAGE", "PEAKON_BACKOFF_BASE_SECONDS", "MONGO_TIMEOUT_SECONDS"):
        env.pop(tuning, None)  # only what the demo prints: the README's lines get nothing else
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", f"set -eo pipefail\n{script}"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{script}\n--- stderr:\n{done.stderr[-3000:]}"
