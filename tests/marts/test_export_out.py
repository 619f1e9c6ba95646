"""`export --out`: checked before any work, only a regular file or a new path, written whole and
private (0600); each bad path is one line and exit 2, with nothing written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from pymongo.database import Database

from tests.cli.helpers import cli_env, run_cli

Db = Database[dict[str, Any]]
# MongoDB that never answers: a path refused before any work never gets as far as connecting.
NO_MONGO = "mongodb://127.0.0.1:9"
EXPECTED = "expected a regular file or a new path"


def refused(out: str, message: str, cwd: Path) -> None:
    done = run_cli(["export", "release", "--out", out], cli_env(None, NO_MONGO, "unused"), cwd, timeout=60)
    assert (done.returncode, done.stderr) == (2, f"peakon-ingest: error: --out: {message}\n")
    assert done.stdout == ""


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_a_missing_directory_is_refused_before_any_work(tmp_path: Path) -> None:
    refused(str(tmp_path / "nowhere" / "r.csv"), f"directory {tmp_path / 'nowhere'} does not exist", tmp_path)
    assert not (tmp_path / "nowhere").exists()


def test_a_symlink_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "kept.csv").write_text("mine\n")
    for link, to in (("link.csv", tmp_path / "kept.csv"), ("null", Path("/dev/null")), ("dangling", tmp_path / "x")):
        (tmp_path / link).symlink_to(to)
        refused(str(tmp_path / link), f"{tmp_path / link} is a symbolic link; {EXPECTED}", tmp_path)
        assert (tmp_path / link).is_symlink()
        assert (tmp_path / link).readlink() == to
    assert (tmp_path / "kept.csv").read_text() == "mine\n"
    assert not (tmp_path / "x").exists()
    assert leftovers(tmp_path) == []


def test_a_fifo_is_refused_and_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it for writing would block with no reader: a refusal must not open it
    refused(str(fifo), f"{fifo} is a FIFO; {EXPECTED}", tmp_path)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_device_or_a_directory_is_refused(tmp_path: Path) -> None:
    before = Path("/dev/null").stat()
    refused("/dev/null", f"/dev/null is a device; {EXPECTED}", tmp_path)
    after = Path("/dev/null").stat()  # only read: the device is still the device
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert leftovers(Path("/dev")) == []
    refused(str(tmp_path), f"{tmp_path} is a directory; {EXPECTED}", tmp_path)


def test_a_directory_without_write_permission_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    # Root writes anywhere: as root the CLI runs without the capability that overrides permissions.
    no_override = ["setpriv", "--bounding-set=-dac_override", "--"] if os.geteuid() == 0 else []
    try:
        done = subprocess.run(
            [*no_override, sys.executable, "-m", "peakon_ingest.cli", "export", "release", "--out", f"{locked}/r.csv"],
            env=cli_env(None, NO_MONGO, "unused"), cwd=tmp_path, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
    finally:
        locked.chmod(0o755)
    message = f"--out: cannot write in {locked} (permission denied)"
    assert (done.returncode, done.stderr) == (2, f"peakon-ingest: error: {message}\n")
    assert list(locked.iterdir()) == []


def test_an_export_replaces_a_regular_file_whole_and_private(tmp_path: Path, mongo_uri: str, mongo_db: Db) -> None:
    mongo_db["mart_release"].insert_many([{"_id": "2024-01", "released_at": "x"}, {"_id": "2024-02"}])
    out = tmp_path / "release.csv"
    out.write_text("old\n")
    out.chmod(0o644)
    done = run_cli(["export", "release", "--out", str(out)], cli_env(None, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_text().splitlines()[1:] == ["x,2024-01", ",2024-02"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []
    dash = run_cli(["export", "release", "--out", "-"], cli_env(None, mongo_uri, mongo_db.name), tmp_path)
    assert (dash.returncode, dash.stdout) == (0, out.read_text())
    assert not (tmp_path / "-").exists()
