"""The release layer's guards: it fails closed when its audit finds an atom under k, participation
counts employees from their hire date, pseudonyms never sit beside names, and settings that do not
fit exit 2 with one line. Coverage on the simulator's default organisation is reported."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory
from typer.testing import CliRunner

from peakon_ingest import cli
from peakon_ingest.marts.atoms import ATOM, EMP, assign
from peakon_ingest.marts.build import build
from peakon_ingest.marts.options import PREFIX, Options
from peakon_ingest.settings import Settings
from tests.cli.helpers import cli_env, run_cli
from tests.marts.test_release_world import OPTIONS, SEGMENTS, Db, at, employee, published, seed


def test_an_atom_under_k_fails_the_audit_and_nothing_new_is_published(
    mongo_db: Db, mongo_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(mongo_db)
    build(mongo_db, OPTIONS, now=at("2026-11-10"))  # September released
    before = published(mongo_db)

    def undersized(table: pl.DataFrame, *args: Any) -> pl.DataFrame:
        """The real atoms, but one respondent's answers split off into an atom of their own."""
        atoms = assign(table, *args)
        who = atoms.filter(pl.col(ATOM).is_not_null())[EMP][0]
        return atoms.with_columns(pl.when(pl.col(EMP) == who).then(pl.col(ATOM) + 10**9).otherwise(ATOM).alias(ATOM))

    monkeypatch.setattr("peakon_ingest.marts.compute.assign", undersized)
    handlers = logging.root.handlers[:]
    try:  # in this process (the patch holds), as the command line runs it
        done = CliRunner().invoke(cli.app, ["marts"], env=cli_env(None, mongo_uri, mongo_db.name))
    finally:  # the command's log handler writes to the runner's stream, closed once it is done
        logging.root.handlers[:] = handlers
    assert done.exit_code == 1, done.output
    run = mongo_db["ingestion_runs"].find_one({"mode": "marts"})
    assert run is not None
    assert run["status"] == "failure"
    # Every month due is audited (October and November), each with an atom of one.
    found = re.search(
        r"the release audit found (\d+) violations \(2026-10: atom \d+ holds 1 respondents", run["marts_error"]
    )
    assert found, run["marts_error"]
    assert int(found[1]) >= 2
    assert published(mongo_db) == before


def test_participation_counts_an_employee_from_their_hire_date(mongo_db: Db) -> None:
    seed(mongo_db)
    # Hired in October (a date from Peakon's `employmentStart`); and one with no hire date, first
    # stored (by the history) in November: neither is counted in September.
    mongo_db["employees"].insert_many([employee(40, 2, "D1", hired="2026-10-15"), employee(41, 2, "D1", hired=None)])
    mongo_db["employees_history"].insert_one(
        {
            "_id": "h41",
            "key": 41,
            "valid_from": at("2026-11-02"),
            "valid_to": None,
            "record": employee(41, 2, "D1", None),
        }
    )
    build(mongo_db, OPTIONS, now=at("2026-12-20"))
    staff = {
        row["month"]: sum(r["employees"] for r in mongo_db[PREFIX + "participation"].find({"month": row["month"]}))
        for row in mongo_db[PREFIX + "participation"].find()
    }
    assert staff == {"2026-09": 15, "2026-10": 16, "2026-11": 17}
    for row in mongo_db[PREFIX + "participation"].find():
        assert min(row["employees"], row["respondents"]) >= OPTIONS.min_respondents


def test_with_pseudonymous_ids_no_mart_shows_a_name_or_an_identifier(mongo_db: Db) -> None:
    seed(mongo_db)
    settings = Settings(_env_file=None, peakon_pseudonymize_ids="true")  # type: ignore[call-arg]
    options = settings.mart_options()
    assert options.pseudonymous
    build(mongo_db, Options(min_respondents=5, segments=SEGMENTS, pseudonymous=True), now=at("2026-12-20"))
    org = list(mongo_db[PREFIX + "org"].find())
    assert org
    assert not [row for row in org if {"name", "identifier", "email"} & set(row)]
    managers = list(mongo_db[PREFIX + "manager_question"].find())
    assert managers
    assert not [row for row in managers if "manager_identifier" in row]
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not plain.mart_options().pseudonymous


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"PEAKON_MART_SEGMENTS": "Department,Team"},
            (
                "PEAKON_MART_SEGMENTS: no stored employee has 'Team'; known attributes: Department, Sub-Department, "
                "employmentStart, identifier, name"
            ),
        ),
        ({"PEAKON_RELEASE_GRACE_DAYS": "two weeks"}, "PEAKON_RELEASE_GRACE_DAYS: "),
        ({"PEAKON_RELEASE_GRACE_DAYS": "-1"}, "PEAKON_RELEASE_GRACE_DAYS: "),
    ],
)
def test_a_setting_that_does_not_fit_exits_2_with_one_line(
    mongo_db: Db, mongo_uri: str, tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    seed(mongo_db)
    done = run_cli(["marts"], cli_env(None, mongo_uri, mongo_db.name, **extra), tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"peakon-ingest: error: {message}"), done.stderr
    assert done.stderr.count("\n") == 1
    assert not [name for name in mongo_db.list_collection_names() if name.startswith(PREFIX)]


def test_coverage_on_the_simulators_default_organisation_of_1000(
    make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, tmp_path: Path
) -> None:
    """The simulator's company at 1,000 employees, a month and a half of answers (its default
    pace): at least 90% of scored answers count in department figures, and at least half of the
    direct groups of k respondents or more are published."""
    sim = make_simulator(employees=1000, answers=100_000)
    done = run_cli(["ingest"], cli_env(sim, mongo_uri, mongo_db.name), tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run = mongo_db["ingestion_runs"].find_one({"mode": {"$ne": "marts"}}, sort=[("started_at", -1)])
    assert run is not None
    coverage = run["marts"]["coverage"]
    print(f"coverage at 1,000 employees: {coverage}")  # noqa: T201 - the figure the README quotes
    assert coverage["department_answers"] >= 0.90
    assert coverage["direct_groups"] >= 0.50
    assert run["marts"]["released"] == ["2024-01", "2024-02"]


def test_an_ingest_with_a_segment_no_employee_has_keeps_the_data_and_exits_2(
    simulator: SimulatorThread, mongo_uri: str, mongo_db: Db, tmp_path: Path
) -> None:
    env = cli_env(simulator, mongo_uri, mongo_db.name, PEAKON_MART_SEGMENTS="Department,Team")
    done = run_cli(["ingest"], env, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.splitlines()[-1]
    assert last.startswith(
        "peakon-ingest: error: the data is stored, but PEAKON_MART_SEGMENTS: no stored employee has 'Team'"
    )
    assert "known attributes: Department, " in last
    assert mongo_db["answers_export"].count_documents({}) > 0
