"""`tap-peakon --discover` and the schemas derived from Peakon's spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorThread
from peakon_simulator.testing import control, shared_file
from tap_peakon.schema_derivation import SCHEMA_DIR, derive


def test_discover_lists_six_streams_with_keys_and_bookmarks(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"app_token": "unused-for-discovery"}))
    result = subprocess.run(
        [sys.executable, "-m", "tap_peakon", "--config", str(config), "--discover"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    streams = {s["tap_stream_id"]: s for s in json.loads(result.stdout)["streams"]}
    assert set(streams) == {
        "answers_export",
        "employees",
        "drivers",
        "scores_contexts",
        "scores_by_driver",
        "drivers_catalog",
    }
    assert all(s["key_properties"] == ["_id"] for s in streams.values())
    assert streams["answers_export"]["replication_key"] == "_id"
    assert streams["answers_export"]["replication_method"] == "INCREMENTAL"
    assert all(s["schema"].get("additionalProperties") is True for s in streams.values())


def test_committed_schemas_match_the_spec() -> None:
    derived = derive(json.loads(shared_file("peakon/openapi.json").read_text()))
    for name, schema in derived.items():
        assert json.loads((SCHEMA_DIR / f"{name}.json").read_text()) == schema, name
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} == set(derived)


def test_packaged_catalog_is_the_shared_one() -> None:
    packaged = (SCHEMA_DIR.parent / "drivers_catalog.csv").read_text()
    assert packaged == shared_file("peakon/drivers_catalog.csv").read_text()


def test_light_stream_names_match_the_tap() -> None:
    from tap_peakon.names import STREAM_NAMES  # noqa: PLC0415
    from tap_peakon.tap import STREAM_TYPES  # noqa: PLC0415

    assert [vars(stream)["name"] for stream in STREAM_TYPES] == list(STREAM_NAMES)


def test_config_from_environment_variables(simulator: SimulatorThread, tmp_path: Path) -> None:
    """`--config ENV` reads TAP_PEAKON_* variables, as Meltano and containers pass settings."""
    catalog = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tap_peakon", "--config", "ENV", "--discover"],
            capture_output=True, text=True, check=True, timeout=60, env={**os.environ, "TAP_PEAKON_APP_TOKEN": "x"},
        ).stdout
    )  # fmt: skip
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] == "drivers"
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    env = {**os.environ, "TAP_PEAKON_APP_TOKEN": DEFAULT_APP_TOKEN, "TAP_PEAKON_BASE_URL": simulator.base_url,
           "TAP_PEAKON_COMPANY_ID": "22182"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "tap_peakon", "--config", "ENV", "--catalog", str(tmp_path / "catalog.json")],
        capture_output=True, text=True, check=True, timeout=60, env=env,
    )  # fmt: skip
    records = [json.loads(line) for line in result.stdout.splitlines() if '"RECORD"' in line]
    assert len(records) == 18
    assert DEFAULT_APP_TOKEN not in result.stdout + result.stderr


def test_streams_setting_selects_without_a_catalog(simulator: SimulatorThread, tmp_path: Path) -> None:
    """`streams` in the config: only those emit records; a child's parent is read for its ids only."""
    config = tmp_path / "config.json"
    settings = {
        "app_token": DEFAULT_APP_TOKEN,
        "base_url": simulator.base_url,
        "company_id": 22182,
        "streams": ["scores_by_driver"],
    }
    config.write_text(json.dumps(settings))
    result = subprocess.run(
        [sys.executable, "-m", "tap_peakon", "--config", str(config)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    assert {m["stream"] for m in messages if m["type"] == "RECORD"} == {"scores_by_driver"}
    paths = {r["path"] for r in control(simulator, "GET", "requests")["requests"]}
    assert not any(p.endswith(("/answers/export", "/employees")) for p in paths)
    assert any(p.endswith("/engagement/drivers") for p in paths)  # the parent, for driver ids


def test_unknown_stream_in_streams_setting_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"app_token": "x", "streams": ["answers"]}))
    result = subprocess.run(
        [sys.executable, "-m", "tap_peakon", "--config", str(config)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "'answers' is not one of" in result.stderr
    assert "config['streams']" in result.stderr


def run_with(
    tmp_path: Path, config: dict[str, Any], catalog: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.json").write_text(json.dumps(config))
    args = ["--config", str(tmp_path / "config.json")]
    if catalog is not None:
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        args += ["--catalog", str(tmp_path / "catalog.json")]
    return subprocess.run(
        [sys.executable, "-m", "tap_peakon", *args], capture_output=True, text=True, check=False, timeout=60
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1
    assert result.stdout == ""  # nothing read, nothing sent
    # The SDK's banner (INFO, the tap's version) aside, one line: no traceback.
    (line,) = [line for line in result.stderr.splitlines() if " | INFO " not in line]
    return line


def offline_config(**extra: Any) -> dict[str, Any]:
    return {"app_token": "x", "base_url": "http://127.0.0.1:9/api/v1", "company_id": 1, **extra}


def catalog_naming(stream: str, breadcrumb: list[str]) -> dict[str, Any]:
    metadata = [{"breadcrumb": [], "metadata": {"selected": True}}, {"breadcrumb": breadcrumb, "metadata": {}}]
    return {"streams": [{"tap_stream_id": stream, "stream": stream, "schema": {}, "metadata": metadata}]}


def test_a_catalog_naming_an_unknown_stream_is_one_line_and_exit_1(tmp_path: Path) -> None:
    line = one_line_error(run_with(tmp_path, offline_config(), catalog_naming("answers", [])))
    assert line.startswith("tap-peakon: error: catalog: unknown stream 'answers' (streams: answers_export, ")


def test_a_catalog_naming_an_unknown_property_is_one_line_and_exit_1(tmp_path: Path) -> None:
    breadcrumb = ["properties", "attributes", "properties", "answerScores"]
    line = one_line_error(run_with(tmp_path, offline_config(), catalog_naming("answers_export", breadcrumb)))
    assert line == "tap-peakon: error: catalog: stream 'answers_export' has no property 'attributes.answerScores'"


def test_a_catalog_may_name_an_employee_s_own_attributes(tmp_path: Path) -> None:
    """Tenant-defined fields (sampled by --discover) are no unknown properties: the run starts."""
    breadcrumb = ["properties", "attributes", "properties", "Department"]
    result = run_with(tmp_path, offline_config(max_retries=0), catalog_naming("employees", breadcrumb))
    assert "catalog:" not in result.stderr  # it went on to reach for the (absent) server


@pytest.mark.parametrize(
    ("maps", "expected"),
    [
        ({"employee": {"__alias__": "people"}}, "stream_maps: unknown stream 'employee'"),
        ({"people": {"__source__": "employee"}}, "stream_maps: 'people' has an unknown __source__ 'employee'"),
    ],
)
def test_stream_maps_naming_an_unknown_stream_are_one_line_and_exit_1(
    tmp_path: Path, maps: dict[str, Any], expected: str
) -> None:
    line = one_line_error(run_with(tmp_path, offline_config(stream_maps=maps)))
    assert line.startswith(f"tap-peakon: error: {expected}")


def test_base_url_and_company_id_have_no_default_and_are_required(tmp_path: Path) -> None:
    about = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tap_peakon", "--about", "--format", "json"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout
    )  # fmt: skip
    assert {"base_url", "company_id"} <= set(about["settings"]["required"])
    assert "default" not in about["settings"]["properties"]["base_url"]
    assert "default" not in about["settings"]["properties"]["company_id"]
    result = run_with(tmp_path, {"app_token": "x"})
    assert result.returncode == 1
    assert "'base_url' is a required property" in result.stderr
    assert "pax8inc" not in result.stderr + result.stdout


def test_discover_samples_the_tenant_s_own_employee_fields(simulator: SimulatorThread, tmp_path: Path) -> None:
    config = {"app_token": DEFAULT_APP_TOKEN, "base_url": simulator.base_url, "company_id": 22182}
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "tap_peakon", "--config", str(tmp_path / "config.json"), "--discover"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    catalog = json.loads(result.stdout)
    (employees,) = [s["schema"] for s in catalog["streams"] if s["tap_stream_id"] == "employees"]
    attributes = employees["properties"]["attributes"]["properties"]
    assert attributes["Department"] == attributes["Sub-Department"] == {"type": ["string", "null"]}
    assert attributes["employmentStart"]["format"] == "date"
    manager = employees["properties"]["relationships"]["properties"]["manager"]
    assert manager["properties"]["data"]["properties"]["id"] == {"type": ["string", "null"]}
    # The catalog it printed is one the tap takes back.
    again = run_with(tmp_path, {**config, "streams": ["drivers_catalog"]}, catalog)
    assert again.returncode == 0, again.stderr[-2000:]
