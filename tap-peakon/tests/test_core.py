"""The SDK's standard tap tests, run against a simulator over real HTTP, flattened and not."""

from __future__ import annotations

import atexit

import pytest
from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorState, SimulatorThread
from singer_sdk.testing import get_tap_test_class
from tap_peakon.tap import TapPeakon

from .helpers import discovered_catalog

# The factory builds the test class at import, so the simulator it reads from starts here too.
_SIMULATOR = SimulatorThread(
    SimulatorState(answers=600, employees=120, seed=3, company_id=22182, app_token=DEFAULT_APP_TOKEN)
).start()
atexit.register(_SIMULATOR.stop)

CONFIG = {"app_token": DEFAULT_APP_TOKEN, "base_url": _SIMULATOR.base_url, "company_id": 22182, "per_page": 200}
FLATTENED = {**CONFIG, "flattening_enabled": True, "flattening_max_depth": 10}

TestTapPeakon = get_tap_test_class(tap_class=TapPeakon, config=CONFIG)

# Flattened as Meltano runs a tap: with the catalog `--discover` printed, the tenant's own employee
# fields (Department, Sub-Department, the manager) sampled into it. Flattened, the schema's optional
# fields the simulator leaves out (a driver's `subdriver`, `scores.count`) are columns of their own,
# which the SDK notes with a warning, not a failure.
TestTapPeakonFlattened = pytest.mark.filterwarnings("ignore:Fields in transformed catalog but not in records")(
    get_tap_test_class(tap_class=TapPeakon, config=FLATTENED, catalog=discovered_catalog(FLATTENED))
)
