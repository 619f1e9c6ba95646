"""The contract module: its summary type, the JSON schema shipped beside it, and the writer's output."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest
from tap_peakon import contract
from tap_peakon.contract import SUMMARY_SCHEMA_FILE, TapSummary
from tap_peakon.run_summary import RunStats


def shipped_schema() -> dict[str, Any]:
    return json.loads(resources.files("tap_peakon").joinpath(SUMMARY_SCHEMA_FILE).read_text())  # type: ignore[no-any-return]


def written(tmp_path: Path, error: BaseException | None = None) -> dict[str, Any]:
    stats = RunStats(requests=3, retry_waits=[1.5], pages_by_stream={"drivers": 2}, answers_reached=7)
    stats.ignored["scores_by_driver"].add("/scores/driver_x")
    stats.schema_drift["employees"]["attributes.shoeSize"] = 2
    stats.write(tmp_path / "tap.out.json", error)
    return json.loads((tmp_path / "tap.out.json").read_text())  # type: ignore[no-any-return]


def test_the_shipped_schema_is_the_one_the_summary_type_describes() -> None:
    assert shipped_schema() == msgspec.json.schema(TapSummary)


@pytest.mark.parametrize("error", [None, RuntimeError("boom")])
def test_the_summary_the_tap_writes_fits_the_schema_and_the_type(tmp_path: Path, error: Exception | None) -> None:
    summary = written(tmp_path, error)
    jsonschema.validate(summary, shipped_schema())
    assert msgspec.convert(summary, TapSummary) == summary
    assert set(summary) == set(TapSummary.__annotations__)


def test_a_summary_with_a_misspelt_key_fits_neither(tmp_path: Path) -> None:
    summary = written(tmp_path)
    summary["requets"] = summary.pop("requests")
    with pytest.raises(jsonschema.ValidationError, match="requests"):
        jsonschema.validate(summary, shipped_schema())
    with pytest.raises(msgspec.ValidationError, match="requests"):
        msgspec.convert(summary, TapSummary)


def test_the_contract_names_everything_it_offers() -> None:
    assert sorted(contract.__all__) == sorted(
        name for name in vars(contract) if not name.startswith("_") and name not in {"annotations", "Any", "TypedDict"}
    )
