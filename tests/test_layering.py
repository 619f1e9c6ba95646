"""Who may import whom, read from the source with `ast` (no import runs):

- the operator (`peakon_ingest`) imports of the plugins only their contract modules;
- runtime code (the operator and both plugins) never imports `peakon_simulator` or `peakon_ingest.devtools`;
- the web pages (`peakon_ingest/web/`) import of our code only the marts' query module
  (`peakon_ingest.marts.query`), the settings (`peakon_ingest.settings`) and themselves.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ("tap_peakon", "target_mongo_upsert")
CONTRACTS = ("tap_peakon.contract", "target_mongo_upsert.contract")
NEVER_AT_RUNTIME = ("peakon_simulator", "peakon_ingest.devtools")
OURS = ("peakon_ingest", "peakon_simulator", *PLUGINS)
WEB_MAY_USE = ("peakon_ingest.web", "peakon_ingest.marts.query", "peakon_ingest.settings")
# Where each runtime package's source is, below the repository root.
RUNTIME = {"peakon_ingest": ".", "tap_peakon": "tap-peakon", "target_mongo_upsert": "target-mongo-upsert"}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


def module_name(path: Path, base: Path) -> str:
    parts = path.relative_to(base).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """Every module the file imports; `from a import b` counts as `a.b` (b may be a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def problem(module: str, name: str) -> str | None:
    """What is wrong with `module` importing `name`, if anything."""
    if within(module, ("peakon_ingest.devtools",)):
        return None  # generators for a source checkout: they may read everything
    if within(name, NEVER_AT_RUNTIME):
        return "runtime code imports a development-only package"
    if within(module, ("peakon_ingest",)) and within(name, PLUGINS) and not within(name, CONTRACTS):
        return "the operator reaches past a plugin's contract"
    if within(module, ("peakon_ingest.web",)) and within(name, OURS) and not within(name, WEB_MAY_USE):
        return "the web pages import more than the marts' query module and the settings"
    return None


def violations(root: Path) -> list[str]:
    found = []
    for package, directory in RUNTIME.items():
        base = root / directory
        for path in sorted((base / package).rglob("*.py")):
            module = module_name(path, base)
            for line, name in imported(path, module):
                why = problem(module, name)
                if why:
                    found.append(f"{path.relative_to(root)}:{line}: {name}: {why}")
    return found


def test_every_package_imports_only_what_its_layer_allows() -> None:
    assert violations(ROOT) == []


def plant(root: Path, relative: str, source: str) -> None:
    for directory in RUNTIME.values():
        (root / directory).mkdir(parents=True, exist_ok=True)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


@pytest.mark.parametrize(
    ("relative", "source", "why"),
    [
        ("peakon_ingest/run/x.py", "from tap_peakon.keys import as_int_or_self\n", "past a plugin's contract"),
        ("peakon_ingest/x.py", "import target_mongo_upsert.state_store\n", "past a plugin's contract"),
        ("peakon_ingest/marts/x.py", "from tap_peakon import names\n", "past a plugin's contract"),
        ("peakon_ingest/cli.py", "from peakon_ingest.devtools import requirements\n", "development-only"),
        ("tap-peakon/tap_peakon/x.py", "from peakon_simulator import SimulatorThread\n", "development-only"),
        ("peakon_ingest/web/app.py", "from peakon_ingest.marts.build import build\n", "the web pages"),
        ("peakon_ingest/web/app.py", "from ..run import runs\n", "the web pages"),
    ],
)
def test_a_planted_import_across_a_layer_is_named(tmp_path: Path, relative: str, source: str, why: str) -> None:
    plant(tmp_path, relative, source)
    (found,) = violations(tmp_path)
    assert found.startswith(f"{relative}:1: ")
    assert why in found


@pytest.mark.parametrize(
    ("relative", "source"),
    [
        ("peakon_ingest/run/x.py", "from tap_peakon.contract import write_private\n"),
        ("peakon_ingest/x.py", "from target_mongo_upsert import contract\n"),
        ("peakon_ingest/devtools/x.py", "from tap_peakon.tap import TapPeakon\n"),
        ("peakon_ingest/web/app.py", "from peakon_ingest.marts.query import months\nfrom . import pages\n"),
        ("peakon_ingest/web/app.py", "from peakon_ingest.settings import Settings\nimport starlette\n"),
    ],
)
def test_an_import_within_the_layers_passes(tmp_path: Path, relative: str, source: str) -> None:
    plant(tmp_path, relative, source)
    assert violations(tmp_path) == []
