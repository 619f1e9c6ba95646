"""Each plugin as PyPI would get it: an sdist and a wheel (`python -m build`, the wheel built from the
sdist) that pass `twine check`, and a wheel that installs alone in a fresh venv and answers `--about`."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from peakon_ingest.plugin_settings import TAP, TARGET

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DATA = {TAP: ("*.csv", "schemas/*.json"), TARGET: ()}  # as each pyproject's package-data says
OURS = {"tap-peakon", "target-mongo-upsert", "peakon-ingest", "peakon-simulator"}


def run(*command: str | Path) -> str:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False, timeout=400)
    assert done.returncode == 0, f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.timeout(600)
@pytest.mark.parametrize("plugin", [TAP, TARGET])
def test_the_plugin_builds_an_sdist_and_a_wheel_that_pass_twine_check_and_install_alone(
    plugin: str, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT / plugin)
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    assert len(sdists) == 1, f"sdists built: {sdists}"
    assert len(wheels) == 1, f"wheels built: {wheels}"
    run(sys.executable, "-m", "twine", "check", "--strict", *sdists, *wheels)

    module = plugin.replace("-", "_")
    source = ROOT / plugin / module
    wanted = {p.relative_to(source.parent).as_posix() for p in source.rglob("*.py")}
    wanted |= {p.relative_to(source.parent).as_posix() for g in PACKAGE_DATA[plugin] for p in source.glob(g)}
    with zipfile.ZipFile(wheels[0]) as wheel:
        missing = wanted - set(wheel.namelist())
    assert not missing, f"{wheels[0].name} lacks {sorted(missing)}"

    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    run(fresh / "bin" / "python", "-m", "pip", "install", "--quiet", wheels[0])
    installed = {
        p["name"].lower() for p in json.loads(run(fresh / "bin" / "python", "-m", "pip", "list", "--format", "json"))
    }
    assert installed & OURS == {plugin}, f"installed alongside {plugin}: {sorted(installed & OURS - {plugin})}"
    about = json.loads(run(fresh / "bin" / plugin, "--about", "--format", "json"))
    assert about["name"] == plugin
    assert about["settings"]["properties"], f"{plugin} --about lists no settings"
