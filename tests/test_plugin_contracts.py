"""The operator reads the plugins' summary files through their contracts' types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tap_peakon.contract import TapSummary
from tap_peakon.run_summary import RunStats
from target_mongo_upsert.contract import TargetSummary, write_summary

from peakon_ingest.run.pipeline import PipelineResult, SummaryError, read_summary


def test_the_tap_s_summary_reads_back_as_it_was_written(tmp_path: Path) -> None:
    RunStats(requests=4, retry_waits=[2.0], pages_by_stream={"employees": 3}).write(tmp_path / "tap.out.json")
    summary = read_summary(tmp_path / "tap.out.json", TapSummary)
    assert summary is not None
    assert (summary["requests"], summary["retries"], summary["pages"]) == (4, 1, 3)


def test_a_summary_never_written_or_cut_short_reads_as_none(tmp_path: Path) -> None:
    assert read_summary(tmp_path / "missing.json", TapSummary) is None
    (tmp_path / "cut.json").write_text('{"requests": 4, "retr')
    assert read_summary(tmp_path / "cut.json", TapSummary) is None


def test_a_summary_with_a_misspelt_key_is_an_error_not_a_summary_of_nones(tmp_path: Path) -> None:
    misspelt = {"requets" if k == "requests" else k: v for k, v in RunStats(requests=4).summary().items()}
    (tmp_path / "tap.out.json").write_text(json.dumps(misspelt))
    with pytest.raises(SummaryError, match=r"tap\.out\.json breaks its plugin's contract.*requests"):
        read_summary(tmp_path / "tap.out.json", TapSummary)


def test_the_target_s_error_comes_before_the_tap_s(tmp_path: Path) -> None:
    write_summary(tmp_path / "target.out.json", KeyError("no key"))
    RunStats().write(tmp_path / "tap.out.json", BrokenPipeError("reader gone"))
    result = PipelineResult(
        tap_exit=1,
        target_exit=1,
        tap=read_summary(tmp_path / "tap.out.json", TapSummary),
        target=read_summary(tmp_path / "target.out.json", TargetSummary),
    )
    assert (result.error, result.error_type) == ("'no key'", "KeyError")
