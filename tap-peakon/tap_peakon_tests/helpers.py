"""Run tap-peakon in-process against a simulator and collect the Singer messages it writes."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorThread
from tap_peakon.tap import TapPeakon


@dataclass
class TapOutput:
    messages: list[dict[str, Any]]
    tap: TapPeakon
    error: Exception | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records[message["stream"]].append(message["record"])

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1]

    def ids(self, stream: str) -> list[Any]:
        return [r["_id"] for r in self.records[stream]]


def tap_config(sim: SimulatorThread, **overrides: Any) -> dict[str, Any]:
    return {
        "app_token": DEFAULT_APP_TOKEN,
        "base_url": sim.base_url,
        "company_id": 22182,  # the simulator's
        "per_page": 1000,
        "backoff_base_seconds": 0.01,
        "max_retry_wait_seconds": 60,
        **overrides,
    }


def discovered_catalog(config: dict[str, Any]) -> dict[str, Any]:
    """What `tap-peakon --discover` prints for this config (the tenant's employee fields sampled)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return json.loads(TapPeakon(config=config, setup_mapper=False).run_discovery())  # type: ignore[no-any-return]


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    streams: set[str] | None = None,
    catalog: dict[str, Any] | None = None,
) -> TapOutput:
    """Sync in this process; stdout is swapped for a buffer while it runs."""
    tap = TapPeakon(config=config, state=state, catalog=catalog, setup_mapper=True)
    if streams is not None:
        for stream in tap.streams.values():
            stream.selected = stream.name in streams
    buffer = io.BytesIO()
    saved = sys.stdout
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8")
    sys.stdout = wrapper
    error: Exception | None = None
    try:
        tap.sync_all()
    except Exception as err:  # noqa: BLE001 - returned to the test, which asserts on it
        error = err
    finally:
        wrapper.flush()
        wrapper.detach()  # keep the buffer open when the wrapper is collected
        sys.stdout = saved
    lines = buffer.getvalue().decode().splitlines()
    return TapOutput([json.loads(line) for line in lines if line.strip()], tap, error)
