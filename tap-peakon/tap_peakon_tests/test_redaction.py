"""Redaction and keyed pseudonyms in the tap, for every stream with attributes, in both modes, on the
record and the page-file paths."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from singer_sdk.exceptions import ConfigValidationError
from tap_peakon.privacy import Privacy

from .helpers import TapOutput, run_tap, tap_config

KEY = "test-pseudonym-key"
# One attribute of each stream that has attributes, redacted all at once.
FIELDS = {
    "answers_export": "accountEmail",
    "employees": "lastName",
    "drivers": "classification",
    "scores_contexts": "grade",
    "scores_by_driver": "grade",
}
STREAMS = set(FIELDS)
BATCHES = {"encoding": {"format": "jsonl"}, "storage": {"root": ""}}


def pseudonym(value: Any) -> Any:
    return None if value is None else "hmac-sha256:" + hmac.new(KEY.encode(), str(value).encode(), "sha256").hexdigest()


def emitted(out: TapOutput, stream: str, batch_root: Path | None) -> list[dict[str, Any]]:
    """The stream's records as they left the tap: RECORD messages, or the lines of its page files."""
    if batch_root is not None and stream == "answers_export":
        files = sorted(batch_root.glob(f"{stream}-*.jsonl"))
        assert files, "answers went by page files"
        return [json.loads(line) for path in files for line in path.read_text().splitlines()]
    return out.records[stream]


@pytest.mark.parametrize("mode", ["remove", "hash"])
@pytest.mark.parametrize("path", ["records", "page files"])
def test_every_stream_with_attributes_is_redacted_before_it_leaves_the_tap(
    tmp_path: Path, simulator: SimulatorThread, mode: str, path: str
) -> None:
    plain = run_tap(tap_config(simulator), streams=STREAMS)
    assert plain.error is None
    config = tap_config(simulator, redact_fields=",".join(sorted(set(FIELDS.values()))), redact_mode=mode)
    config["redact_key"] = KEY
    root = tmp_path if path == "page files" else None
    if root is not None:
        config["batch_config"] = {**BATCHES, "storage": {"root": root.as_uri()}}
    out = run_tap(config, streams=STREAMS)
    assert out.error is None
    for stream, field in FIELDS.items():
        originals = {r["_id"]: r["attributes"] for r in plain.records[stream]}
        redacted = {r["_id"]: r["attributes"] for r in emitted(out, stream, root)}
        assert set(redacted) == set(originals), stream
        assert any(attrs.get(field) is not None for attrs in originals.values()), f"{stream} has no {field}"
        for key, attrs in redacted.items():
            if mode == "remove":
                assert field not in attrs, (stream, key)
            else:
                assert attrs[field] == pseudonym(originals[key].get(field)), (stream, key)
            others = {k: v for k, v in originals[key].items() if k != field}
            assert {k: v for k, v in attrs.items() if k != field} == others  # nothing else touched


def test_fields_match_anywhere_or_by_path_case_insensitively() -> None:
    record = {
        "id": "1",
        "attributes": {"AccountEmail": "a@x", "nested": {"accountemail": "b@x"}, "keep": 1},
        "relationships": {"manager": {"data": {"id": "7"}}, "account": {"data": {"id": "8"}}},
    }
    Privacy(fields=["accountEmail", "Relationships.*"], mode="remove", key=None, pseudonymize_ids=False).apply(
        "employees", record
    )
    assert record == {"id": "1", "attributes": {"nested": {}, "keep": 1}, "relationships": {}}


def test_pseudonymized_ids_join_answers_and_employees_and_keep_nothing_in_clear(simulator: SimulatorThread) -> None:
    out = run_tap(tap_config(simulator, pseudonymize_ids=True, redact_key=KEY), streams={"answers_export", "employees"})
    assert out.error is None
    employees = {e["_id"]: e for e in out.records["employees"]}
    assert all(str(key).startswith("hmac-sha256:") for key in employees)  # keys included
    for answer in out.records["answers_export"][:300]:
        attrs = answer["attributes"]
        employee = employees[attrs["employeeId"]]  # the join still works
        assert employee["id"] == attrs["employeeId"]
        assert employee["attributes"]["identifier"] == attrs["employeeExternalId"]
        assert attrs["accountEmail"].startswith("hmac-sha256:")
    managers = [
        e["relationships"]["manager"]["data"]["id"] for e in employees.values() if "manager" in e["relationships"]
    ]
    assert all(str(manager).startswith("hmac-sha256:") for manager in managers)
    # Managers still join employees (but for the few orphans, whose manager is not an employee).
    assert 0 < len(managers) - sum(manager in employees for manager in managers) < len(managers) / 20
    text = json.dumps(out.records["answers_export"] + out.records["employees"])
    assert "@example.com" not in text
    assert '"EXT-' not in text


def test_a_dictionary_attack_on_the_pseudonyms_fails(simulator: SimulatorThread) -> None:
    """An attacker who can guess every email (names and ids are easy to enumerate) and hashes them
    finds none of them among keyed pseudonyms, unkeyed or with a wrong key."""
    plain = run_tap(tap_config(simulator), streams={"answers_export"})
    emails = {a["attributes"]["accountEmail"] for a in plain.records["answers_export"]}
    out = run_tap(tap_config(simulator, pseudonymize_ids=True, redact_key=KEY), streams={"answers_export"})
    stored = {a["attributes"]["accountEmail"] for a in out.records["answers_export"]}
    assert len(stored) == len(emails) > 100
    guesses = set()
    for email in emails:
        guesses.add("sha256:" + hashlib.sha256(email.encode()).hexdigest())
        guesses.add("hmac-sha256:" + hashlib.sha256(email.encode()).hexdigest())
        guesses.add("hmac-sha256:" + hmac.new(b"guessed-key", email.encode(), "sha256").hexdigest())
    assert not guesses & stored


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"redact_fields": "accountEmail,bad name"}, r"^redact_fields: expected comma-separated field names"),
        ({"redact_fields": "accountEmail", "redact_mode": "hash"}, r"^redact_key: required"),
        ({"pseudonymize_ids": True}, r"^redact_key: required"),
    ],
)
def test_bad_privacy_settings_are_config_errors(
    simulator: SimulatorThread, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigValidationError, match=message):
        run_tap(tap_config(simulator, **settings), streams={"drivers"})
