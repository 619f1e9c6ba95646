"""tap-peakon into target-jsonl (a singer-python target that knows only SCHEMA, RECORD and STATE).

target-jsonl does not advertise `activate-version`, so its user turns the SDK's
`emit_activate_version_messages` off. Then every message must be one it understands: no warning,
every record valid against its stream's schema (it validates each one), every item of the API written.
"""

from __future__ import annotations

import json
from pathlib import Path

from peakon_simulator.testing import SimulatorFactory

from tests.interop.peakon import STREAMS, TAP, simulator_items, tap_config
from tests.interop.pipes import run_pipe
from tests.interop.plugins import executable


def test_without_activate_version_the_tap_sends_target_jsonl_nothing_it_warns_about_and_every_record(
    tmp_path: Path, make_simulator: SimulatorFactory
) -> None:
    sim = make_simulator(answers=300, employees=30)
    config = tap_config(sim, emit_activate_version_messages=False)
    out = tmp_path / "out"
    piped = run_pipe(
        tmp_path, TAP, config, [str(executable("target-jsonl"))],
        {"destination_path": str(out), "do_timestamp_file": False},
    )  # fmt: skip
    warnings = [line for line in piped.target_log.splitlines() if "WARN" in line.upper()]
    assert not warnings, f"target-jsonl warned {len(warnings)} times:\n" + "\n".join(warnings[:10])
    expected = simulator_items(sim)
    for stream in STREAMS:
        path = out / f"{stream}.jsonl"
        assert path.is_file(), f"no records of {stream} written"
        keys = {str(json.loads(line)["_id"]) for line in path.read_text().splitlines()}
        assert keys == set(expected[stream]), f"{stream}: {len(keys)} records written for {len(expected[stream])}"
