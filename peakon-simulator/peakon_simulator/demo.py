"""`make demo`: the whole job against the simulator and an embedded MongoDB-compatible server.

Starts both on free loopback ports, runs `peakon-ingest ingest`, shows `peakon-ingest runs`, then
appends answers and runs an incremental ingest that fetches only those.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

from rich.console import Console

from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorState, SimulatorThread
from peakon_simulator.embedded_mongo import EmbeddedMongo

console = Console()


def peakon_ingest(*args: str, env: dict[str, str]) -> None:
    console.rule(f"[bold]peakon-ingest {' '.join(args)}")
    with tempfile.TemporaryDirectory() as cwd:  # no stray .env is read
        subprocess.run([sys.executable, "-m", "peakon_ingest.cli", *args], env=env, cwd=cwd, check=True)  # noqa: S603


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=50_000)
    parser.add_argument("--employees", type=int, default=1_000)
    args = parser.parse_args()
    state = SimulatorState(
        answers=args.answers, employees=args.employees, seed=1, company_id=22182, app_token=DEFAULT_APP_TOKEN
    )
    with SimulatorThread(state) as sim, EmbeddedMongo() as mongo:
        console.print(f"Peakon simulator: {sim.base_url} ({args.answers} answers, {args.employees} employees)")
        console.print(f"Embedded MongoDB (nx-27017): {mongo.uri}")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PEAKON_", "MONGO_"))},
            "PEAKON_APP_TOKEN": DEFAULT_APP_TOKEN,
            "PEAKON_BASE_URL": sim.base_url,
            "MONGO_URI": mongo.uri,
            "MONGO_DB": "peakon_demo",
            "LOG_LEVEL": "WARNING",
            "COLUMNS": os.environ.get("COLUMNS", "120"),
        }
        peakon_ingest("ingest", env=env)
        added = state.append_answers(1_000)
        console.print(f"\nThe simulator now has {added['answers']} answers: the next run fetches only the new 1,000.")
        peakon_ingest("ingest", env=env)
        peakon_ingest("runs", env=env)
        peakon_ingest("status", env=env)


if __name__ == "__main__":
    main()
