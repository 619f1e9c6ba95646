"""The operator's command line: `peakon-ingest <command>`."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from peakon_ingest.simulator import DEFAULT_APP_TOKEN, SimulatorState, SimulatorThread

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Workday Peakon data into MongoDB.")


@app.callback()
def _root() -> None:
    """Workday Peakon data into MongoDB, kept fresh every week."""


@app.command()
def simulate(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8089,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    answers: Annotated[int, typer.Option(min=0, help="Answers in the export at start.")] = 100_000,
    employees: Annotated[int, typer.Option(min=1, help="Employees in the company.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 1,
    company_id: Annotated[int, typer.Option(help="Company id served as company_<id>.")] = 22182,
    app_token: Annotated[str, typer.Option(help="The application token it accepts.")] = DEFAULT_APP_TOKEN,
    auth_form_only: Annotated[bool, typer.Option(help="Reject JSON auth bodies (415).")] = False,
    token_in_attributes: Annotated[bool, typer.Option(help="Return the token at data.attributes.token.")] = False,
    employees_meta_paging: Annotated[bool, typer.Option(help="Page employees with meta.page.")] = False,
    allow_driver_groups: Annotated[bool, typer.Option(help="Accept driver ids as score groups.")] = False,
    rate_limit_per_hour: Annotated[int, typer.Option(min=1, help="Requests per hour before 429.")] = 5000,
) -> None:
    """Serve a Peakon v1 API simulator under /api/v1 (control API under /_sim/)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    state = SimulatorState(answers=answers, employees=employees, seed=seed, company_id=company_id, app_token=app_token)
    state.switches.update(
        {
            "auth_form_only": auth_form_only,
            "token_in_attributes": token_in_attributes,
            "employees_meta_paging": employees_meta_paging,
            "allow_driver_groups": allow_driver_groups,
            "rate_limit_per_hour": rate_limit_per_hour,
        }
    )
    server = SimulatorThread(state, host=host, port=port).start()
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    logging.getLogger("peakon_ingest.simulate").info(
        "Peakon simulator on %s (%d answers, %d employees, seed %d)", server.base_url, answers, employees, seed
    )
    stopped.wait()
    server.stop()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
