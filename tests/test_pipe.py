"""`tap-peakon | target-mongo-upsert` as two real processes, simulator to MongoDB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorThread
from peakon_simulator.testing import SimulatorFactory
from pymongo.database import Database

from peakon_ingest.plugin_settings import TARGET_EXTRAS

STREAMS = ("answers_export", "employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog")


def pipe(
    tmp_path: Path, sim: SimulatorThread, mongo_uri: str, database: str, state: dict[str, Any] | None = None
) -> None:
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(
        json.dumps({"app_token": DEFAULT_APP_TOKEN, "base_url": sim.base_url, "company_id": 22182, "per_page": 1000})
    )
    target_config = tmp_path / "target.json"
    target_config.write_text(json.dumps({"mongo_uri": mongo_uri, "database": database, **TARGET_EXTRAS}))
    tap_args = [sys.executable, "-m", "tap_peakon", "--config", str(tap_config)]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        tap_args += ["--state", str(tmp_path / "state.json")]
    with (tmp_path / "tap.log").open("w") as tap_log, (tmp_path / "target.log").open("w") as target_log:
        tap = subprocess.Popen(tap_args, stdout=subprocess.PIPE, stderr=tap_log)
        target = subprocess.run(
            [sys.executable, "-m", "target_mongo_upsert", "--config", str(target_config)],
            stdin=tap.stdout, stdout=subprocess.DEVNULL, stderr=target_log, timeout=300, check=False,
        )  # fmt: skip
        assert tap.stdout is not None
        tap.stdout.close()
        assert tap.wait(timeout=60) == 0, (tmp_path / "tap.log").read_text()[-2000:]
    assert target.returncode == 0, (tmp_path / "target.log").read_text()[-2000:]


def counts(db: Database[dict[str, Any]]) -> dict[str, int]:
    return {name: db[name].count_documents({}) for name in STREAMS}


def test_pipe_fills_six_collections_and_a_rerun_changes_nothing(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Database[dict[str, Any]]
) -> None:
    sim = make_simulator(answers=12_345, employees=432)
    pipe(tmp_path, sim, mongo_uri, mongo_db.name)
    expected = {
        "answers_export": 12_345, "employees": 432, "drivers": 18, "scores_contexts": 68,
        "scores_by_driver": 68, "drivers_catalog": 17,
    }  # fmt: skip
    assert counts(mongo_db) == expected
    # Dates stay the API's text, though the schemas say date-time: the operator turns dates_as_bson off.
    for name in STREAMS:
        assert all(isinstance(d["fetched_at"], str) for d in mongo_db[name].find().limit(100)), name
    answered = [d["attributes"]["responseAnsweredAt"] for d in mongo_db["answers_export"].find().limit(100)]
    assert all(isinstance(value, str) for value in answered)

    def indexed(name: str) -> set[str]:
        return {key for index in mongo_db[name].index_information().values() for key, _ in index["key"]}

    assert {"attributes.responseAnsweredAt", "attributes.employeeId", "attributes.questionId", "run_id"} <= indexed(
        "answers_export"
    )
    assert {"attributes.scores.time", "run_id"} <= indexed("scores_contexts")
    assert {"attributes.scores.time", "run_id"} <= indexed("scores_by_driver")
    assert "run_id" in indexed("employees")
    bookmarks = {d["_id"]: d for d in mongo_db["sync_state"].find()}
    assert bookmarks["answers_export"]["last_answer_id"] == sim.state.answer_summary()["max_answer_id"]
    assert bookmarks["employees"]["last_employee_id"] == 5000 + 431
    first_seen = {d["_id"]: d["first_seen_at"] for d in mongo_db["answers_export"].find({}, {"first_seen_at": 1})}

    pipe(tmp_path, sim, mongo_uri, mongo_db.name)  # a full re-run
    assert counts(mongo_db) == expected
    again = {d["_id"]: d["first_seen_at"] for d in mongo_db["answers_export"].find({}, {"first_seen_at": 1})}
    assert again == first_seen

    sim.state.append_answers(500)  # an incremental run from the stored state adds exactly those
    state = mongo_db["sync_state"].find_one({"_id": "singer_state"})
    assert state is not None
    pipe(tmp_path, sim, mongo_uri, mongo_db.name, state=state["value"])
    assert counts(mongo_db) == {**expected, "answers_export": 12_845}
