"""The SDK's standard tap tests, run against a simulator over real HTTP."""

from __future__ import annotations

import atexit

from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorState, SimulatorThread
from singer_sdk.testing import get_tap_test_class
from tap_peakon.tap import TapPeakon

# The factory builds the test class at import, so the simulator it reads from starts here too.
_SIMULATOR = SimulatorThread(
    SimulatorState(answers=600, employees=120, seed=3, company_id=22182, app_token=DEFAULT_APP_TOKEN)
).start()
atexit.register(_SIMULATOR.stop)

TestTapPeakon = get_tap_test_class(
    tap_class=TapPeakon,
    config={"app_token": DEFAULT_APP_TOKEN, "base_url": _SIMULATOR.base_url, "per_page": 200},
)
