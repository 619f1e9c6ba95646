"""`make container-test`: docker-compose.yml tested on a real Docker engine, offline.

Each step prints its time: the engine made ready (tests/container/engine.py), stand-in base images
built where the real ones are missing (standins.py), the project copied and its images built, then
the compose scenarios (test_compose.py, run by pytest). Where no Docker engine can run (no root,
not Linux x86_64), it prints one line saying why and exits 0.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.container import engine, standins
from tests.container.compose import PROJECT_ENV, Compose

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".container-test"


def copy_project(target: Path) -> None:
    """What git has (tracked files and new ones it does not ignore), as they are in the checkout: the
    test writes its own .env there, never into the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def main() -> int:
    reason = engine.why_not()
    if reason is not None:
        print(f"container-test: skipped: {reason}")  # noqa: T201 - the one line a skip prints
        return 0
    WORK.mkdir(exist_ok=True)
    timings: list[tuple[str, float]] = []

    def step(name: str, action: Callable[[], object]) -> object:
        start = time.monotonic()
        outcome = action()
        timings.append((name, time.monotonic() - start))
        said = f" ({outcome})" if isinstance(outcome, str) else ""
        print(f"container-test: {name}: {timings[-1][1]:.1f} s{said}", flush=True)  # noqa: T201
        return outcome

    step("Debian packages", engine.install_packages)
    started = step("Docker engine", lambda: engine.start_engine(WORK / "dockerd.log"))
    config = WORK / "docker-config"
    step("Compose v2 plugin", lambda: engine.install_compose(config))
    step(f"base image {standins.BASE}", standins.build_base)
    step(f"MongoDB image {standins.MONGO}", standins.build_mongo)
    project = Path(tempfile.mkdtemp(prefix="peakon-container-test-"))
    code = 1
    try:
        step("project copied", lambda: copy_project(project))
        compose = Compose(project, config)
        step("images built (compose build)", lambda: compose("--profile", "demo", "build", timeout=1800))
        start = time.monotonic()
        arguments = ["-v", "-p", "no:cacheprovider", "--durations=0", *sys.argv[1:]]  # ARGS: e.g. -x, -k
        code = int(pytest.main([*arguments, str(Path(__file__).with_name("test_compose.py"))]))
        timings.append(("compose scenarios (pytest)", time.monotonic() - start))
    finally:
        if (project / ".env").exists():  # whatever the scenarios left, even after a failure
            Compose(project, config)("--profile", "demo", "down", "-v", "--remove-orphans", check=False)
        os.environ.pop(PROJECT_ENV, None)
        shutil.rmtree(project, ignore_errors=True)
        if isinstance(started, subprocess.Popen):
            started.terminate()
            started.wait(timeout=60)
    print("container-test: timings")  # noqa: T201
    for name, seconds in timings:
        print(f"  {seconds:7.1f} s  {name}")  # noqa: T201
    print(f"  {sum(s for _, s in timings):7.1f} s  in all")  # noqa: T201
    return code


if __name__ == "__main__":
    sys.exit(main())
