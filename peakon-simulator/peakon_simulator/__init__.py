"""A Peakon v1 API simulator, built from Peakon's OpenAPI spec, for tests, the demo and benchmarks."""

from peakon_simulator.server import SimulatorThread
from peakon_simulator.state import DEFAULT_APP_TOKEN, SimulatorState

__all__ = ["DEFAULT_APP_TOKEN", "SimulatorState", "SimulatorThread"]
