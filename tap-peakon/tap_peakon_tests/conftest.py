from __future__ import annotations

import types

import backoff._sync
import pytest
import tap_peakon.rate_limit


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The tap's retry and limiter waits, recorded instead of slept (the simulator still sleeps)."""
    recorded: list[float] = []
    fake_time = types.SimpleNamespace(sleep=recorded.append, monotonic=lambda: 0.0)
    monkeypatch.setattr(backoff._sync, "time", fake_time)
    monkeypatch.setattr(tap_peakon.rate_limit, "time", fake_time)
    return recorded
