"""The repository's root conftest: `pytest` here runs every package's suite (`testpaths`), each in a
package of its own name, with the fixtures of `peakon_simulator.testing` (the simulator and MongoDB).
That plugin is also an entry point of the simulator package under the same name, so pytest loads it
once, and a plugin's suite run from its own directory gets the same fixtures.

Every test is in one tier, by the file it is in (`TIERS`; `make test` runs them in this order, each
timed): `unit` starts no server and no child process; `integration` runs one package against the
simulator or MongoDB (the default); `system` runs the whole job or other programs as real processes.
`pytest -m unit` runs one tier.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["peakon_simulator.testing"]

ROOT = Path(__file__).resolve().parent
DEFAULT_TIER = "integration"
# Paths below the repository root: a file, or a directory for everything in it.
TIERS = {
    "unit": (
        "tap-peakon/tap_peakon_tests/test_contract.py",
        "tap-peakon/tap_peakon_tests/test_drift.py",
        "tap-peakon/tap_peakon_tests/test_page_lines.py",
        "tap-peakon/tap_peakon_tests/test_sdk_contract.py",
        "tap-peakon/tap_peakon_tests/test_units.py",
        "target-mongo-upsert/target_mongo_upsert_tests/test_changes.py",
        "target-mongo-upsert/target_mongo_upsert_tests/test_commits.py",
        "target-mongo-upsert/target_mongo_upsert_tests/test_contract.py",
        "target-mongo-upsert/target_mongo_upsert_tests/test_rejections.py",
        "target-mongo-upsert/target_mongo_upsert_tests/test_sdk_contract.py",
        "tests/test_layering.py",
        "tests/test_module_maps.py",
        "tests/test_mutants_list.py",
        "tests/test_plugin_contracts.py",
        "tests/test_tiers.py",
        "tests/web/test_vendored.py",
    ),
    "system": (
        "tests/cli",
        "tests/container",
        "tests/interop",
        "tests/operation",
        "tests/publishing",
        "tests/reliability",
        "tests/test_meltano.py",
        "tests/test_pipe.py",
    ),
}


def tier(path: Path) -> str:
    relative = path.resolve().relative_to(ROOT)
    for name, places in TIERS.items():
        if any(relative == Path(place) or Path(place) in relative.parents for place in places):
            return name
    return DEFAULT_TIER


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(tier(item.path))
