"""The contract module: its summary type, the JSON schema shipped beside it, and the writer's output."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest
from target_mongo_upsert import contract
from target_mongo_upsert.contract import SUMMARY_SCHEMA_FILE, TargetSummary, write_summary


def shipped_schema() -> dict[str, Any]:
    text = resources.files("target_mongo_upsert").joinpath(SUMMARY_SCHEMA_FILE).read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def test_the_shipped_schema_is_the_one_the_summary_type_describes() -> None:
    assert shipped_schema() == msgspec.json.schema(TargetSummary)


@pytest.mark.parametrize("error", [None, ValueError("no key"), ValueError("")])
def test_the_summary_the_target_writes_fits_the_schema_and_the_type(tmp_path: Path, error: Exception | None) -> None:
    write_summary(tmp_path / "target.out.json", error)
    summary = json.loads((tmp_path / "target.out.json").read_text())
    jsonschema.validate(summary, shipped_schema())
    assert msgspec.convert(summary, TargetSummary) == summary
    assert summary["error"] == (None if error is None else str(error) or "ValueError")


def test_a_summary_with_a_misspelt_key_fits_neither() -> None:
    summary = {"eror": "boom", "error_type": "ValueError"}
    with pytest.raises(jsonschema.ValidationError, match="error"):
        jsonschema.validate(summary, shipped_schema())
    with pytest.raises(msgspec.ValidationError, match="error"):
        msgspec.convert(summary, TargetSummary)


def test_the_contract_names_everything_it_offers() -> None:
    offered = {"annotations", "Any", "Path", "TypedDict", "msgspec"}
    assert sorted(contract.__all__) == sorted(n for n in vars(contract) if not n.startswith("_") and n not in offered)
