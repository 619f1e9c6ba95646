"""Meltano: the generated meltano.yml, and `meltano run tap-peakon target-mongo-upsert peakon-marts`
storing exactly what `peakon-ingest ingest` stores, marts included (redaction and pseudonyms on),
against the same simulator and MongoDB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorThread
from pymongo import MongoClient

from peakon_ingest.devtools import plugin_schemas
from peakon_ingest.devtools.meltano_project import render
from peakon_ingest.plugin_settings import SCHEMAS_FILE, TABLE
from tests.cli.helpers import cli_env, run_cli

ROOT = Path(__file__).resolve().parents[1]
STREAMS = ("answers_export", "employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog")
MARTS = ("mart_org", "mart_manager_question", "mart_driver_segment", "mart_participation")
ENVELOPE = {
    "fetched_at",
    "run_id",
    "first_seen_at",
    "last_seen_at",
    "changed_at",
    "updated_at",
    "table_version",
}  # differ between any two runs by design
REDACTION = {
    "PEAKON_REDACT_FIELDS": "accountEmail,answerComment,firstName,lastName",
    "PEAKON_REDACT_MODE": "hash",
    "PEAKON_REDACT_KEY": "meltano-and-operator-share-this-key",
    "PEAKON_PSEUDONYMIZE_IDS": "true",
    "PEAKON_BACKOFF_BASE_SECONDS": "1",  # whole seconds: see meltano_project.KINDS
}


@pytest.fixture(scope="module")
def meltano() -> str:
    path = os.environ.get("MELTANO_BIN") or shutil.which("meltano")
    if not path:
        pytest.fail("meltano not found: run the suite with `make test` (it installs Meltano) or set MELTANO_BIN")
    return path


def test_the_cli_s_copy_of_the_plugin_schemas_is_generated_from_the_plugins() -> None:
    committed = (ROOT / "peakon_ingest" / SCHEMAS_FILE).read_text()
    assert committed == plugin_schemas.render(), (
        f"peakon_ingest/{SCHEMAS_FILE} is stale: "
        f"python -m peakon_ingest.devtools.plugin_schemas > peakon_ingest/{SCHEMAS_FILE}"
    )


def test_meltano_yml_is_generated_from_the_plugins_and_the_table(meltano: str) -> None:
    committed = (ROOT / "meltano.yml").read_text()
    assert committed == render(), "meltano.yml is stale: python -m peakon_ingest.devtools.meltano_project > meltano.yml"
    project = yaml.safe_load(committed)
    schema_file = next(Path(meltano).parents[1].glob("lib/python*/site-packages/meltano/schemas/meltano.schema.json"))
    # Meltano's schema has no `validate-records` among a loader's capabilities yet (the SDK reports it).
    checked = json.loads(json.dumps(project).replace('"validate-records"', '"about"'))
    jsonschema.Draft202012Validator(json.loads(schema_file.read_text())).validate(checked)
    for kind, name, module in (("extractors", "tap-peakon", "tap_peakon"), ("loaders", "target-mongo-upsert",
                                                                        "target_mongo_upsert")):  # fmt: skip
        (plugin,) = (p for p in project["plugins"][kind] if p["name"] == name)
        declared = {s["name"] for s in plugin["settings"]}
        command = [sys.executable, "-m", module, "--about", "--format", "json"]
        about = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        assert declared == set(about["settings"]["properties"])  # every setting
        assert plugin["capabilities"] == about["capabilities"]
        assert all({"label", "description", "kind"} <= set(s) for s in plugin["settings"])
        mapped = {m.setting: f"${{{m.variable}}}" for m in TABLE[name]}
        assert {k: v for k, v in plugin["config"].items() if k in mapped} == mapped


def stored(client: MongoClient[dict[str, Any]], database: str) -> dict[str, dict[Any, dict[str, Any]]]:
    db = client[database]
    collections = {name: {d["_id"]: d for d in db[name].find()} for name in STREAMS}
    collections["sync_state"] = {
        d["_id"]: d for d in db["sync_state"].find() if d["_id"] in {"answers_export", "employees"}
    }
    return {
        name: {key: {k: v for k, v in doc.items() if k not in ENVELOPE} for key, doc in docs.items()}
        for name, docs in collections.items()
    }


def marts(client: MongoClient[dict[str, Any]], database: str, name: str) -> list[str]:
    return sorted(repr(row) for row in client[database][name].find({}, None if name == "mart_org" else {"_id": 0}))


def test_meltano_and_the_operator_store_the_same_documents(
    tmp_path: Path, meltano: str, simulator: SimulatorThread, mongo_uri: str, mongo_client: MongoClient[dict[str, Any]]
) -> None:
    ours, theirs = f"op_{os.getpid()}", f"mel_{os.getpid()}"
    done = run_cli(["ingest"], cli_env(simulator, mongo_uri, ours, **REDACTION), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    project = tmp_path / "project"  # a copy, so Meltano's .meltano/ never lands in the checkout
    project.mkdir()
    shutil.copy(ROOT / "meltano.yml", project)
    for package in ("tap-peakon", "target-mongo-upsert", "peakon_ingest"):  # the marts utility is the operator's
        shutil.copytree(ROOT / package, project / package, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project)
    env = {
        **cli_env(simulator, mongo_uri, theirs, **REDACTION),
        "PEAKON_COMPANY_ID": "22182",  # required by the tap; the operator defaults it (.env.example sets it)
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    install = subprocess.run(
        [meltano, "install"], cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert install.returncode == 0, install.stderr[-3000:]
    run = subprocess.run(
        [meltano, "run", "tap-peakon", "target-mongo-upsert", "peakon-marts"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert DEFAULT_APP_TOKEN not in run.stderr + run.stdout

    operator, via_meltano = stored(mongo_client, ours), stored(mongo_client, theirs)
    try:
        for name in (*STREAMS, "sync_state"):
            assert operator[name], f"{name}: nothing stored"
            assert set(via_meltano[name]) == set(operator[name]), name
            differing = [key for key in operator[name] if via_meltano[name][key] != operator[name][key]]
            assert not differing, f"{name}: {len(differing)} documents differ, e.g. {differing[:3]}"
        for name in MARTS:  # the marts too, built by the utility as by `peakon-ingest ingest`
            ours_rows, their_rows = marts(mongo_client, ours, name), marts(mongo_client, theirs, name)
            assert ours_rows, f"{name}: nothing built"
            assert ours_rows == their_rows, name
        answer = next(iter(operator["answers_export"].values()))
        assert answer["attributes"]["accountEmail"].startswith("hmac-sha256:")  # redacted on both paths
        assert "@" not in json.dumps(list(via_meltano["answers_export"].values())[:50], default=str)
    finally:
        mongo_client.drop_database(ours)
        mongo_client.drop_database(theirs)
