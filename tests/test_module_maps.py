"""Each package's README.md maps its modules, one line each, under `## Modules`: every module and
sub-package named, and no name that is not there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = (
    "peakon_ingest",
    "tap-peakon/tap_peakon",
    "target-mongo-upsert/target_mongo_upsert",
    "peakon-simulator/peakon_simulator",
)
PACKAGES = sorted(str(init.parent.relative_to(ROOT)) for top in TOP for init in (ROOT / top).rglob("__init__.py"))


def present(package: Path) -> set[str]:
    modules = {path.name for path in package.glob("*.py") if path.name != "__init__.py"}
    return modules | {f"{path.parent.name}/" for path in package.glob("*/__init__.py")}


def mapped(readme: str) -> list[str]:
    section = readme.partition("\n## Modules\n")[2].partition("\n## ")[0]
    return re.findall(r"^- `([^`]+)`: \S", section, flags=re.MULTILINE)


@pytest.mark.parametrize("package", PACKAGES)
def test_the_package_readme_maps_every_module_and_nothing_else(package: str) -> None:
    readme = ROOT / package / "README.md"
    assert readme.exists(), f"{package}/README.md: a module map, one line per module"
    names = mapped(readme.read_text(encoding="utf-8"))
    assert len(names) == len(set(names)), "a module named twice"
    there = present(ROOT / package)
    assert set(names) == there, f"missing: {sorted(there - set(names))}; not there: {sorted(set(names) - there)}"


def test_the_root_readme_points_to_every_module_map() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [package for package in PACKAGES if f"{package}/README.md" not in readme]
    assert not missing
