"""The newcomer's first hour, as CI runs it: a fresh clone, `make demo ARGS=--keep`, then the
README's "Try it yourself" lines pasted as written after the lines the demo printed; and the same
with LOG_FORMAT=json, where every line of output must parse as JSON.

    python -m tests.newcomer          # clones this repository into a scratch directory first
    python -m tests.newcomer --here   # uses this checkout and its .venv (quicker, for a local check)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.readme_blocks import blocks

ROOT = Path(__file__).resolve().parents[2]
DEMO_ARGS = "--keep --answers 5000 --employees 300"
STARTUP_SECONDS = 900  # the clone's `make venv` included


def pasted_lines(demo: subprocess.Popen[str]) -> list[str]:
    """The `export ...` lines the demo prints once its servers are left running."""
    assert demo.stdout is not None
    exports: list[str] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    for line in demo.stdout:
        sys.stdout.write(line)
        if line.startswith("export "):
            exports.append(line.strip())
        if len(exports) == 2:
            return exports
        if time.monotonic() > deadline:
            break
    msg = f"the demo printed no lines to paste (exit {demo.poll()})"
    raise SystemExit(msg)


def run(script: str, cwd: Path, *, json_logs: bool) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PEAKON_", "MONGO_", "LOG_"))}
    if json_logs:
        env["LOG_FORMAT"] = "json"
    done = subprocess.run(
        ["bash", "-c", f"set -eo pipefail\n{script}"], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode:
        msg = f"the pasted lines failed (exit {done.returncode})"
        raise SystemExit(msg)
    if json_logs:
        for line in done.stderr.splitlines():
            json.loads(line)  # every log line, the children's and the last, is JSON


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--here", action="store_true", help="use this checkout instead of a fresh clone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newcomer-") as scratch:
        checkout = ROOT
        if not args.here:
            checkout = Path(scratch) / "peakon-ingest"
            subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
        try_it = [script for sim, script in blocks(checkout / "README.md") if sim]
        if not try_it:
            raise SystemExit("README.md has no runnable 'Try it yourself' block")
        demo = subprocess.Popen(
            ["make", "demo", f"ARGS={DEMO_ARGS}"], cwd=checkout, stdout=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            exports = "\n".join(pasted_lines(demo))
            work = Path(scratch) / "work"
            work.mkdir()
            for script in try_it:
                run(f"{exports}\n{script}", work, json_logs=False)
                run(f"{exports}\n{script}", work, json_logs=True)
        finally:
            os.killpg(demo.pid, signal.SIGTERM)
            demo.wait(timeout=60)
    sys.stdout.write("newcomer: the README's lines worked as written, and every JSON log line parsed\n")


if __name__ == "__main__":
    main()
