"""`peakon-simulator`: serve the Peakon v1 API simulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from peakon_simulator.generator import DEFAULT_EMPLOYEES
from peakon_simulator.server import SimulatorThread
from peakon_simulator.state import DEFAULT_APP_TOKEN, SimulatorState

log = logging.getLogger("peakon_simulator")
SWITCH_FLAGS = {
    "auth_form_only": "reject JSON auth bodies (415)",
    "token_in_attributes": "return the token at data.attributes.token",
    "employees_meta_paging": "page employees with meta.page",
    "allow_driver_groups": "accept driver ids as score groups",
}


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="peakon-simulator", description=__doc__)
    cli.add_argument("--port", type=int, default=8089, help="port to listen on")
    cli.add_argument("--host", default="127.0.0.1", help="address to bind")
    cli.add_argument("--answers", type=int, default=100_000, help="answers in the export at start")
    cli.add_argument("--employees", type=int, default=DEFAULT_EMPLOYEES, help="employees in the company")
    cli.add_argument("--seed", type=int, default=1, help="seed of the generated data")
    cli.add_argument("--company-id", type=int, default=22182, help="company id served as company_<id>")
    cli.add_argument("--app-token", default=DEFAULT_APP_TOKEN, help="the application token it accepts")
    cli.add_argument("--rate-limit-per-hour", type=int, default=5000, help="requests per hour before 429")
    for name, text in SWITCH_FLAGS.items():
        cli.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=text)
    return cli


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    state = SimulatorState(
        answers=args.answers, employees=args.employees, seed=args.seed, company_id=args.company_id,
        app_token=args.app_token,
    )  # fmt: skip
    state.switches.update(
        {name: getattr(args, name) for name in SWITCH_FLAGS} | {"rate_limit_per_hour": args.rate_limit_per_hour}
    )
    server = SimulatorThread(state, host=args.host, port=args.port).start()
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    log.info("Peakon simulator on %s (%d answers, %d employees, seed %d)", server.base_url, args.answers,
             args.employees, args.seed)  # fmt: skip
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
