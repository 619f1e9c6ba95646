"""tap-peakon into MeltanoLabs' target-postgres on its defaults, as a data engineer would pipe them.

A real PostgreSQL, the simulator with employee churn between runs, the state passed on as Meltano
would. The target soft-deletes (`_sdc_deleted_at`) or, with `hard_delete`, deletes every row of a
table version older than the one an ACTIVATE_VERSION names: so every table must be exact, and only
the employees who left may be gone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory, control

from tests.interop.peakon import STREAMS, TAP, WHOLE, differences, simulator_items, tap_config
from tests.interop.pipes import run_pipe
from tests.interop.plugins import executable
from tests.interop.postgres import Postgres

SCHEMA = "peakon"
CHURN = {"change": 4, "remove": 3, "add": 2}


def target_config(postgres: Postgres, database: str, **extra: Any) -> dict[str, Any]:
    return {**postgres.connection(database), "default_target_schema": SCHEMA, **extra}


def last_state(stdout: str) -> dict[str, Any] | None:
    lines = [line for line in stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


class Pipeline:
    """Runs tap-peakon | target-postgres, each run from the state the last one emitted."""

    def __init__(self, tmp_path: Path, tap: dict[str, Any], target: dict[str, Any]) -> None:
        self.tmp_path, self.tap, self.target = tmp_path, tap, target
        self.state: dict[str, Any] | None = None
        self.runs = 0

    def run(self) -> None:
        self.runs += 1
        args: tuple[str, ...] = ()
        if self.state is not None:
            state_file = self.tmp_path / f"state{self.runs}.json"
            state_file.write_text(json.dumps(self.state))
            args = ("--state", str(state_file))
        piped = run_pipe(
            self.tmp_path, TAP, self.tap, [str(executable("target-postgres"))], self.target,
            tap_args=args, name=f"run{self.runs}",
        )  # fmt: skip
        self.state = last_state(piped.target_stdout) or self.state


def check_tables(
    postgres: Postgres,
    database: str,
    sim: SimulatorThread,
    left: set[str],
    *,
    hard_delete: bool,
    names: dict[str, str] | None = None,
) -> None:
    """Every table holds what the simulator serves now, row for row; the employees who `left` are
    soft-deleted (or gone, with `hard_delete`), and no other row is."""
    names = names or {}
    expected = simulator_items(sim)
    tables = postgres.tables(database, SCHEMA)
    for stream in STREAMS:
        table = names.get(stream, stream)
        assert table in tables, f"no table {SCHEMA}.{table} (tables: {sorted(tables)})"
        rows = postgres.rows(database, f'SELECT * FROM {SCHEMA}."{table}"')  # noqa: S608 - our own names
        by_key = {str(row["_id"]): row for row in rows}
        assert len(by_key) == len(rows), f"{table}: {len(rows) - len(by_key)} duplicate rows of one key"
        deleted = {key for key, row in by_key.items() if row.get("_sdc_deleted_at") is not None}
        gone = left if stream == "employees" else set()
        live = set(by_key) - deleted
        assert live == set(expected[stream]), (
            f"{table}: {len(live)} live rows for {len(expected[stream])} items; "
            f"live but not served: {sorted(live - set(expected[stream]))[:10]}, "
            f"served but not live: {sorted(set(expected[stream]) - live)[:10]}"
            + (f" ({len(deleted)} rows have _sdc_deleted_at)" if deleted else "")
        )
        if hard_delete:
            assert not deleted, f"{table}: rows soft-deleted with hard_delete on: {sorted(deleted)[:10]}"
            assert not (gone & set(by_key)), f"{table}: employees who left still stored: {sorted(gone & set(by_key))}"
        else:
            assert deleted == gone, (
                f"{table}: soft-deleted {sorted(deleted)[:10]} ({len(deleted)}), expected exactly the employees "
                f"who left: {sorted(gone)}"
            )
        wrong = {key: differences(by_key[key], item) for key, item in expected[stream].items()}
        wrong = {key: fields for key, fields in wrong.items() if fields}
        assert not wrong, f"{table}: rows unlike the API's items (key: fields): {dict(list(wrong.items())[:5])}"


def churn(sim: SimulatorThread) -> set[str]:
    """A week of HR changes and new answers; the ids of the employees who left."""
    week = control(sim, "POST", "churn", CHURN)
    control(sim, "POST", "answers", {"count": 60})
    return {str(i) for i in week["removed"]}


@pytest.mark.parametrize("hard_delete", [False, True], ids=["soft-delete", "hard-delete"])
def test_three_runs_with_churn_keep_every_table_exact_and_remove_only_the_employees_who_left(
    tmp_path: Path, make_simulator: SimulatorFactory, postgres: Postgres, pg_database: str, *, hard_delete: bool
) -> None:
    sim = make_simulator(answers=400, employees=40)
    extra = {"hard_delete": True} if hard_delete else {}
    pipeline = Pipeline(tmp_path, tap_config(sim), target_config(postgres, pg_database, **extra))
    left: set[str] = set()
    for week in range(3):
        if week:
            left |= churn(sim)
        pipeline.run()
        check_tables(postgres, pg_database, sim, left, hard_delete=hard_delete)


def test_a_stream_map_renaming_employees_to_people_moves_every_message_of_the_stream(
    tmp_path: Path, make_simulator: SimulatorFactory, postgres: Postgres, pg_database: str
) -> None:
    sim = make_simulator(answers=100, employees=30)
    maps = {"stream_maps": {"employees": {"__alias__": "people"}}}
    pipeline = Pipeline(tmp_path, tap_config(sim, **maps), target_config(postgres, pg_database))
    pipeline.run()
    left = churn(sim)
    pipeline.run()
    check_tables(postgres, pg_database, sim, left, hard_delete=False, names={"employees": "people"})
    assert "employees" not in postgres.tables(pg_database, SCHEMA)


def test_a_stream_map_dropping_employees_leaves_no_trace_of_it_and_the_rest_exact(
    tmp_path: Path, make_simulator: SimulatorFactory, postgres: Postgres, pg_database: str
) -> None:
    sim = make_simulator(answers=100, employees=30)
    maps = {"stream_maps": {"employees": None}}
    pipeline = Pipeline(tmp_path, tap_config(sim, **maps), target_config(postgres, pg_database))
    pipeline.run()
    tables = postgres.tables(pg_database, SCHEMA)
    assert tables == set(STREAMS) - {"employees"}, f"tables: {sorted(tables)}"
    expected = simulator_items(sim)
    for stream in WHOLE:
        if stream == "employees":
            continue
        live = f'SELECT * FROM {SCHEMA}."{stream}" WHERE _sdc_deleted_at IS NULL'  # noqa: S608 - our own names
        rows = postgres.rows(pg_database, live)
        assert {str(r["_id"]) for r in rows} == set(expected[stream]), f"{stream}: live rows differ from the API's"
