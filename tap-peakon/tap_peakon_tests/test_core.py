"""The SDK's standard tap tests, run against a simulator over real HTTP, flattened and not.

The SDK's factory builds the test classes at import, from a config and a catalog; no server starts
then. The simulator starts with this module's tests (`_simulator`), which gives the configs the
classes hold its address before the first request. The flattened catalog is what `--discover`
prints against that simulator, committed (`data/flattened_catalog.json`; a test keeps it current).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorState, SimulatorThread
from singer_sdk.testing import get_tap_test_class
from tap_peakon.tap import TapPeakon

from .helpers import discovered_catalog

CATALOG_FILE = Path(__file__).with_name("data") / "flattened_catalog.json"
# No request goes out before `_simulator` puts the running simulator's address here.
UNSTARTED = "http://127.0.0.1:9/api/v1"

CONFIG: dict[str, Any] = {"app_token": DEFAULT_APP_TOKEN, "base_url": UNSTARTED, "company_id": 22182, "per_page": 200}
FLATTENED: dict[str, Any] = {**CONFIG, "flattening_enabled": True, "flattening_max_depth": 10}


@pytest.fixture(autouse=True, scope="module")
def _simulator() -> Iterator[SimulatorThread]:
    state = SimulatorState(answers=600, employees=120, seed=3, company_id=22182, app_token=DEFAULT_APP_TOKEN)
    simulator = SimulatorThread(state).start()
    for config in (CONFIG, FLATTENED):  # the very dicts the test classes read
        config["base_url"] = simulator.base_url
    yield simulator
    simulator.stop()
    for config in (CONFIG, FLATTENED):
        config["base_url"] = UNSTARTED


TestTapPeakon = get_tap_test_class(tap_class=TapPeakon, config=CONFIG)

# Flattened as Meltano runs a tap: with the catalog `--discover` printed, the tenant's own employee
# fields (Department, Sub-Department, the manager) sampled into it. Flattened, the schema's optional
# fields the simulator leaves out (a driver's `subdriver`, `scores.count`) are columns of their own,
# which the SDK notes with a warning, not a failure.
TestTapPeakonFlattened = pytest.mark.filterwarnings("ignore:Fields in transformed catalog but not in records")(
    get_tap_test_class(tap_class=TapPeakon, config=FLATTENED, catalog=json.loads(CATALOG_FILE.read_text()))
)


def test_the_committed_flattened_catalog_is_what_discovery_prints() -> None:
    assert discovered_catalog(FLATTENED) == json.loads(CATALOG_FILE.read_text()), (
        "stale: write discovered_catalog(FLATTENED) to tap_peakon_tests/data/flattened_catalog.json (indent=1)"
    )
