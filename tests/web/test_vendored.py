"""The vendored JavaScript is the pinned build: each committed file has its recorded sha256 (the
pages serve ECharts' from their static files; `test_pages_http` checks the bytes over HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from peakon_ingest.devtools.vendored import ECHARTS, PACKAGES, ROOT, File, main, sha256, verified
from peakon_ingest.web.app import HERE


@pytest.mark.parametrize("file", [f for p in PACKAGES for f in p.files], ids=lambda f: f.target)
def test_each_vendored_file_has_its_recorded_sha256(file: File) -> None:
    assert sha256((ROOT / file.target).read_bytes()) == file.sha256


def test_echarts_and_its_licence_are_among_the_static_files_the_pages_serve() -> None:
    assert {(ROOT / f.target).parent for f in ECHARTS.files} == {HERE / "static"}
    assert {Path(f.member).name for f in ECHARTS.files} >= {"echarts.min.js", "LICENSE", "NOTICE"}


def test_a_file_that_is_not_the_pinned_build_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.js").write_bytes(b"changed")
    monkeypatch.setattr("peakon_ingest.devtools.vendored.ROOT", tmp_path)
    with pytest.raises(ValueError, match="not the pinned build"):
        verified(File("package/x.js", "x.js", sha256(b"original")))
    assert main(["--check"]) == 1  # none of the recorded files is under tmp_path
