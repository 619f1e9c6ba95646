"""The README's shell blocks marked runnable run as written, so they cannot go stale.

A block is marked by the line `<!-- runnable -->` (or `<!-- runnable: with the simulator -->`,
run with the environment `make demo ARGS=--keep` prints) right before its ```sh fence. Each runs
in bash with `set -e`, in a scratch directory, with the project's `.venv/bin` first on the PATH.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from pymongo.database import Database

from tests.cli.helpers import cli_env

README = Path(__file__).parents[1] / "README.md"
BLOCK = re.compile(
    r"^<!-- runnable(?P<sim>: with the simulator)? -->\n```sh\n(?P<script>.*?)^```$", re.MULTILINE | re.DOTALL
)


def blocks() -> list[tuple[bool, str]]:
    return [(bool(found["sim"]), found["script"]) for found in BLOCK.finditer(README.read_text(encoding="utf-8"))]


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
