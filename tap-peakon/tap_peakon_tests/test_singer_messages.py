"""The Singer messages tap-peakon sends, as any target reads them: table versions (ACTIVATE_VERSION),
stream maps, FULL_TABLE however it is asked for, and every message valid Singer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory, control
from tap_peakon.tap import TapPeakon

from .helpers import TapOutput, discovered_catalog, run_tap, tap_config

FULL_READS = {"employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog"}
BATCHES = {"encoding": {"format": "jsonl", "compression": "none"}}


def of_stream(out: TapOutput, stream: str) -> list[dict[str, Any]]:
    """The stream's messages that carry its name, SCHEMA aside (the SDK repeats it per context)."""
    return [m for m in out.messages if m.get("stream") == stream and m["type"] != "SCHEMA"]


def assert_versioned(out: TapOutput, stream: str) -> None:
    """Version announced first, every record carrying it, the same version activated last."""
    messages = of_stream(out, stream)
    first, *middle, last = messages
    assert first["type"] == last["type"] == "ACTIVATE_VERSION", stream
    assert first["version"] == last["version"]
    assert [m["type"] for m in middle] == ["RECORD"] * len(middle), stream
    assert {m["version"] for m in middle} == {first["version"]}, stream
    assert middle, stream


def test_each_full_read_announces_its_version_records_carry_it_and_it_is_activated_last(
    simulator: SimulatorThread,
) -> None:
    out = run_tap(tap_config(simulator))
    assert out.error is None
    for stream in {*FULL_READS, "answers_export"}:  # the answers too: no bookmark yet, so a whole read
        assert_versioned(out, stream)
    # The SDK's version: the run's start in whole seconds (a 32-bit integer column holds it).
    versions = {m["version"] for m in out.messages if m["type"] == "ACTIVATE_VERSION"}
    assert len(versions) == 1
    assert 1_700_000_000 < versions.pop() < 2**31
    # From a bookmark, the answers are read incrementally: no version, never activated.
    control(simulator, "POST", "answers", {"count": 10})
    again = run_tap(tap_config(simulator), state=out.final_state, streams={"answers_export", "drivers"})
    answers = of_stream(again, "answers_export")
    assert [m["type"] for m in answers] == ["RECORD"] * 10
    assert all("version" not in m for m in answers)
    assert_versioned(again, "drivers")


def test_a_stream_that_fails_mid_read_sends_no_closing_activate(make_simulator: SimulatorFactory) -> None:
    sim = make_simulator(employees=250, employees_per_page=100)
    # /employees/count and the first page answer; the second page fails for good.
    control(sim, "POST", "faults", {"kind": "status", "status": 500, "path": "/employees", "skip": 2, "times": -1})
    out = run_tap(tap_config(sim, max_retries=0), streams={"drivers_catalog", "employees"})
    assert out.error is not None
    kinds = [m["type"] for m in of_stream(out, "employees")]
    assert kinds == ["ACTIVATE_VERSION"] + ["RECORD"] * 100  # announced, then the first page only
    assert_versioned(out, "drivers_catalog")  # read whole before: activated


def test_without_emit_activate_version_messages_no_version_is_sent(simulator: SimulatorThread) -> None:
    out = run_tap(tap_config(simulator, emit_activate_version_messages=False), streams={"drivers"})
    assert out.error is None
    assert [m["type"] for m in of_stream(out, "drivers")] == ["RECORD"] * 18
    assert all("version" not in m for m in of_stream(out, "drivers"))


def test_a_stream_map_alias_renames_every_message_kind_and_no_page_file_escapes_it(
    simulator: SimulatorThread, tmp_path: Path
) -> None:
    batches = {**BATCHES, "storage": {"root": tmp_path.as_uri()}}
    maps = {"employees": {"__alias__": "people"}, "answers_export": {"__alias__": "answers"}}
    config = tap_config(simulator, stream_maps=maps, batch_config=batches)
    out = run_tap(config, streams={"employees", "answers_export"})
    assert out.error is None
    named = {(m["type"], m["stream"]) for m in out.messages if "stream" in m}
    assert named == {
        ("SCHEMA", "people"),
        ("ACTIVATE_VERSION", "people"),
        ("RECORD", "people"),
        ("SCHEMA", "answers"),
        ("ACTIVATE_VERSION", "answers"),  # no bookmark yet: a whole read
        ("RECORD", "answers"),  # a stream map moves the answers from page files to records
    }
    assert_versioned(out, "people")
    assert_versioned(out, "answers")
    # STATE is the tap's own bookmark, given back to the tap: it keeps the tap's stream names.
    assert set(out.final_state["bookmarks"]) == {"employees", "answers_export"}


def test_a_stream_map_null_drops_every_message_of_the_stream(simulator: SimulatorThread) -> None:
    out = run_tap(tap_config(simulator, stream_maps={"employees": None}), streams={"employees", "drivers"})
    assert out.error is None
    assert {m["stream"] for m in out.messages if "stream" in m} == {"drivers"}
    assert_versioned(out, "drivers")


def catalog_with(config: dict[str, Any], stream: str, **metadata: Any) -> dict[str, Any]:
    """The discovered catalog with only `stream` selected and `metadata` set on it."""
    catalog = TapPeakon(config=config, setup_mapper=False).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == stream
                if entry["tap_stream_id"] == stream:
                    item["metadata"].update(metadata)
    return catalog


@pytest.mark.parametrize("batches", [False, True], ids=["records", "page files"])
def test_full_table_in_the_catalog_ignores_the_bookmark_and_versions_the_answers(
    simulator: SimulatorThread,
    tmp_path: Path,
    batches: bool,  # noqa: FBT001
) -> None:
    page_files = {"batch_config": {**BATCHES, "storage": {"root": tmp_path.as_uri()}}} if batches else {}
    config = tap_config(simulator, **page_files)
    first = run_tap(config, streams={"answers_export"})
    control(simulator, "DELETE", "requests")
    catalog = catalog_with(config, "answers_export", **{"replication-method": "FULL_TABLE"})
    again = run_tap(config, state=first.final_state, catalog=catalog)
    assert again.error is None
    requests = [r for r in control(simulator, "GET", "requests")["requests"] if r["path"].endswith("/answers/export")]
    assert "continuation" not in requests[0]["query"]  # from the start, whatever the bookmark
    kinds = [m["type"] for m in of_stream(again, "answers_export")]
    assert kinds[0] == kinds[-1] == "ACTIVATE_VERSION"
    # The bookmark moved again through the whole read: the next incremental run starts after it.
    bookmark = first.final_state["bookmarks"]["answers_export"]["replication_key_value"]
    assert again.final_state["bookmarks"]["answers_export"]["replication_key_value"] == bookmark
    if batches:
        assert kinds.count("BATCH") == 3  # every page again
    else:
        assert_versioned(again, "answers_export")
        assert len(again.ids("answers_export")) == 2500


def test_without_a_state_as_after_a_full_refresh_or_a_state_reset_everything_is_read(
    simulator: SimulatorThread,
) -> None:
    """Meltano's `--full-refresh` and a state reset both start the tap without a state: the answers
    are then read whole, versioned like the other streams, and their bookmark moves as they are."""
    first = run_tap(tap_config(simulator))
    control(simulator, "POST", "answers", {"count": 10})
    reset: dict[str, Any] = {"bookmarks": {}}  # what `meltano state clear` leaves
    for state in (None, reset):
        again = run_tap(tap_config(simulator), state=state)
        assert again.error is None
        assert len(again.ids("answers_export")) == len(first.ids("answers_export")) + 10
        for stream in {*FULL_READS, "answers_export"}:
            assert_versioned(again, stream)
            assert len(again.records[stream]) >= len(first.records[stream])
        bookmark = again.final_state["bookmarks"]["answers_export"]["replication_key_value"]
        assert bookmark == max(again.ids("answers_export"))


REQUIRED = {
    "SCHEMA": {"stream", "schema", "key_properties"},
    "RECORD": {"stream", "record"},
    "ACTIVATE_VERSION": {"stream", "version"},
    "STATE": {"value"},
    "BATCH": {"stream", "encoding", "manifest"},
}


@pytest.mark.parametrize(
    ("flattening", "batches"), [(False, False), (True, False), (False, True)], ids=["nested", "flattened", "page files"]
)
def test_every_message_is_valid_singer_and_every_record_fits_its_schema(
    simulator: SimulatorThread,
    tmp_path: Path,
    flattening: bool,  # noqa: FBT001
    batches: bool,  # noqa: FBT001
) -> None:
    page_files = {"batch_config": {**BATCHES, "storage": {"root": tmp_path.as_uri()}}} if batches else {}
    config = tap_config(simulator, flattening_enabled=flattening, flattening_max_depth=10, **page_files)
    # Flattened, as Meltano runs it: with the catalog `--discover` printed (employees' own fields sampled).
    out = run_tap(config, catalog=discovered_catalog(config) if flattening else None)
    assert out.error is None
    validators: dict[str, Draft7Validator] = {}
    declared: dict[str, set[str]] = {}
    for message in out.messages:
        kind = message["type"]
        assert REQUIRED[kind] <= message.keys(), message
        if kind == "SCHEMA":
            Draft7Validator.check_schema(message["schema"])
            declared[message["stream"]] = set(message["schema"]["properties"])
            validators[message["stream"]] = Draft7Validator(
                message["schema"], format_checker=Draft7Validator.FORMAT_CHECKER
            )
        elif kind in {"RECORD", "ACTIVATE_VERSION", "BATCH"}:
            assert message["stream"] in validators, f"{kind} before the SCHEMA of {message['stream']}"
        if kind == "RECORD":
            errors = [e.message for e in validators[message["stream"]].iter_errors(message["record"])]
            assert not errors, (message["stream"], errors[:3])
            assert message["record"].keys() <= declared[message["stream"]], message["stream"]
        if kind == "BATCH":  # each line of its files a record of the stream's SCHEMA
            for url in message["manifest"]:
                for line in Path(url.removeprefix("file://")).read_text().splitlines():
                    assert not list(validators[message["stream"]].iter_errors(json.loads(line)))
        if "version" in message:
            assert type(message["version"]) is int
    assert any(m["type"] == "BATCH" for m in out.messages) == batches
