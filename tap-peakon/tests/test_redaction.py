"""Redaction in the tap, for every stream with attributes, in both modes, on the record and batch paths."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from singer_sdk.exceptions import ConfigValidationError

from .helpers import run_tap, tap_config

# One attribute of each stream that has attributes, redacted all at once.
FIELDS = {
    "answers_export": "accountEmail",
    "employees": "lastName",
    "drivers": "classification",
    "scores_contexts": "grade",
    "scores_by_driver": "grade",
}
STREAMS = set(FIELDS)


def hashed(value: Any) -> Any:
    return None if value is None else "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()


@pytest.mark.parametrize("mode", ["remove", "hash"])
@pytest.mark.parametrize("path", ["records", "batch files"])
def test_every_stream_with_attributes_is_redacted_before_it_leaves_the_tap(
    tmp_path: Path, simulator: SimulatorThread, mode: str, path: str
) -> None:
    plain = run_tap(tap_config(simulator), streams=STREAMS)
    assert plain.error is None
    config = tap_config(simulator, redact_fields=",".join(sorted(set(FIELDS.values()))), redact_mode=mode)
    if path == "batch files":
        config["batch_config"] = {"encoding": {"format": "jsonl"}, "storage": {"root": tmp_path.as_uri()}}
    out = run_tap(config, streams=STREAMS)
    assert out.error is None
    for stream, field in FIELDS.items():
        originals = {r["_id"]: r["attributes"] for r in plain.records[stream]}
        redacted = {r["_id"]: r["attributes"] for r in out.records[stream]}  # redaction keeps the record path
        assert set(redacted) == set(originals), stream
        assert any(attrs.get(field) is not None for attrs in originals.values()), f"{stream} has no {field}"
        for key, attrs in redacted.items():
            if mode == "remove":
                assert field not in attrs, (stream, key)
            else:
                assert attrs[field] == hashed(originals[key].get(field)), (stream, key)
            others = {k: v for k, v in originals[key].items() if k != field}
            assert {k: v for k, v in attrs.items() if k != field} == others  # nothing else touched
    assert not list(tmp_path.glob("*.jsonl*"))  # no page file: nothing unredacted lands on disk


def test_a_bad_field_name_is_a_config_error_naming_redact_fields(simulator: SimulatorThread) -> None:
    with pytest.raises(ConfigValidationError, match=r"^redact_fields: expected comma-separated field names .*, got"):
        run_tap(tap_config(simulator, redact_fields="accountEmail,bad name"), streams={"drivers"})
