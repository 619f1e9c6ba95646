"""`make demo`: the whole job against the simulator and an embedded MongoDB-compatible server.

Starts both on free loopback ports, runs `peakon-ingest ingest`, then a week of change (employees
changed, removed and added; new answers) and an incremental ingest that counts it, then `runs`,
`status`, the analytics marts (a table of rows and suppressed groups) and a CSV of the
manager-question mart in `output/`. With `--keep`, the simulator and MongoDB then stay up, and the
environment lines to paste into another shell are printed (try the CLI by hand); with `--serve`, the
pages (`peakon-ingest web`) are served over that data, with a demo user whose password it prints.
Ctrl-C stops them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

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
    parser.add_argument("--minutes-per-response", type=int, default=20, help="spreads the answers over months")
    parser.add_argument("--employees", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="keep the simulator and MongoDB running afterwards")
    parser.add_argument("--serve", action="store_true", help="then serve the pages until Ctrl-C")
    parser.add_argument("--port", type=int, default=8080, help="the pages' port with --serve (127.0.0.1)")
    args = parser.parse_args()
    state = SimulatorState(
        answers=args.answers, employees=args.employees, seed=1, company_id=22182, app_token=DEFAULT_APP_TOKEN
    )
    with SimulatorThread(state) as sim, EmbeddedMongo() as mongo:
        console.print(f"Peakon simulator: {sim.base_url} ({args.answers} answers, {args.employees} employees)")
        console.print(f"Embedded MongoDB (nx-27017): {mongo.uri}")
        state.switches.minutes_per_response = args.minutes_per_response
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
        week = state.churn(change=40, remove=10, add=25)
        added = state.append_answers(1_000)
        console.print(
            f"\nA week later: {len(week['changed'])} employees changed department and manager, "
            f"{len(week['removed'])} left, {len(week['added'])} joined; {added['answers']} answers in all. "
            "The next run fetches only the new 1,000 answers, and counts what changed and what left."
        )
        peakon_ingest("ingest", env=env)
        peakon_ingest("runs", env=env)
        peakon_ingest("status", env=env)
        peakon_ingest("marts", env=env)
        csv = Path.cwd() / "output" / "manager_question.csv"
        csv.parent.mkdir(exist_ok=True)
        peakon_ingest("export", "manager_question", "--out", str(csv), env=env)
        lines = csv.read_text(encoding="utf-8").splitlines()
        console.print(
            f"{csv}: {len(lines) - 1} rows (manager, scope, month, question); no group below the anonymity "
            "threshold (PEAKON_MIN_RESPONDENTS, 5 by default), none recoverable by subtraction. The first ones:"
        )
        sys.stdout.write("\n".join(lines[:4]) + "\n")
        url = f"http://127.0.0.1:{args.port}"
        if args.serve:
            serve(env, url, args.port)
        elif args.keep:
            keep(env)
        else:
            console.print(
                f"\nThe pages: [bold]make demo ARGS=--serve[/] serves them at {url} (it prints a user and password)."
            )


def serve(env: dict[str, str], url: str, port: int) -> None:
    """A demo user with a fresh password, then `peakon-ingest web` until Ctrl-C."""
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory() as cwd:
        subprocess.run(
            [sys.executable, "-m", "peakon_ingest.cli", "web-user", "add", "demo", "--role", "admin"],
            input=password + "\n",
            text=True,
            env=env,
            cwd=cwd,
            check=True,
            capture_output=True,
        )
        console.rule("[bold]peakon-ingest web")
        console.print(f"Open {url} and log in as [bold]demo[/] with the password [bold]{password}[/]; Ctrl-C stops.")
        with contextlib.suppress(KeyboardInterrupt):
            subprocess.run(  # noqa: S603
                [sys.executable, "-m", "peakon_ingest.cli", "web", "--host", "127.0.0.1", "--port", str(port)],
                env={**env, "LOG_LEVEL": "INFO"},
                cwd=cwd,
                check=False,
            )


KEPT = ("PEAKON_APP_TOKEN", "PEAKON_BASE_URL", "MONGO_URI", "MONGO_DB")


def keep(env: dict[str, str]) -> None:
    """Leave both running and say how to reach them, until Ctrl-C or SIGTERM."""
    console.rule("[bold]try it yourself")
    console.print("The simulator and MongoDB keep running. In another shell, paste:\n")
    exports = " ".join(f"{name}={shlex.quote(env[name])}" for name in KEPT)
    sys.stdout.write(f"export {exports}\n")
    sys.stdout.write(f'export PATH="{Path(sys.executable).parent}:$PATH"\n\n')
    console.print('then the lines of the README\'s "Try it yourself": `peakon-ingest ingest`, `status`, ...')
    console.print("Ctrl-C here stops both.")
    sys.stdout.flush()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()


if __name__ == "__main__":
    main()
