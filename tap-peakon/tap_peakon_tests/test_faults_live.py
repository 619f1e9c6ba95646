"""Every simulator fault against tap-peakon: the run recovers, or fails with a clear message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory, control

from .helpers import TapOutput, run_tap, tap_config


def fault(sim: SimulatorThread, **rule: object) -> None:
    control(sim, "POST", "faults", rule)


def answers_run(sim: SimulatorThread, **config: object) -> TapOutput:
    return run_tap(tap_config(sim, **config), streams={"answers_export"})


@pytest.fixture(params=["records", "page files"])
def mode(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The tap's config for either path answers take: Singer records, or page files (BATCH)."""
    if request.param == "records":
        return {}
    return {
        "batch_config": {"encoding": {"format": "jsonl", "compression": "none"}, "storage": {"root": tmp_path.as_uri()}}
    }


def assert_complete(out: TapOutput, expected: int = 2500) -> None:
    assert out.error is None, out.error
    ids = out.ids("answers_export")
    assert len(ids) == len(set(ids)) == expected


def test_given_429_with_retry_after_seconds_waits_that_long(simulator: SimulatorThread, waits: list[float]) -> None:
    fault(simulator, kind="status", status=429, retry_after=7, path="/answers/export", skip=1, times=2)
    out = answers_run(simulator)
    assert_complete(out)
    assert waits == [7.0, 7.0]
    assert out.tap.stats.retries == 2


def test_given_429_with_retry_after_http_date_waits_until_then(simulator: SimulatorThread, waits: list[float]) -> None:
    fault(simulator, kind="status", status=429, retry_after=40, retry_after_form="http-date", path="/answers/export")
    assert_complete(answers_run(simulator))
    assert len(waits) == 1
    assert 35 <= waits[0] <= 41


def test_given_429_storm_without_retry_after_backs_off_exponentially(
    simulator: SimulatorThread, waits: list[float]
) -> None:
    fault(simulator, kind="status", status=429, times=5, path="/answers/export")
    assert_complete(answers_run(simulator, backoff_base_seconds=1, max_retry_wait_seconds=100))
    assert len(waits) == 5
    for attempt, wait in enumerate(waits, start=1):
        assert 2 ** (attempt - 1) / 2 <= wait <= 2 ** (attempt - 1)


def test_given_retry_after_beyond_the_cap_fails_clearly(simulator: SimulatorThread, waits: list[float]) -> None:
    fault(simulator, kind="status", status=429, retry_after=3600, path="/answers/export")
    out = answers_run(simulator, max_retry_wait_seconds=900)
    assert out.error is not None
    assert "Retry-After of 3600s exceeds max_retry_wait_seconds (900s)" in str(out.error)
    assert waits == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_given_5xx_burst_recovers(simulator: SimulatorThread, waits: list[float], status: int) -> None:
    fault(simulator, kind="status", status=status, times=3, skip=1, path="/answers/export")
    out = answers_run(simulator)
    assert_complete(out)
    assert len(waits) == 3


def test_given_5xx_until_retries_run_out_fails_naming_status_and_path(
    simulator: SimulatorThread, waits: list[float]
) -> None:
    fault(simulator, kind="status", status=503, times=-1, path="/answers/export")
    out = answers_run(simulator, max_retries=3)
    assert out.error is not None
    assert "HTTP 503 from /api/v1/answers/export" in str(out.error)
    assert len(waits) == 3


def test_given_connection_reset_recovers(simulator: SimulatorThread, waits: list[float]) -> None:
    fault(simulator, kind="reset", times=2, skip=1, path="/answers/export")
    assert_complete(answers_run(simulator))
    assert len(waits) == 2


def test_given_response_slower_than_timeout_retries(simulator: SimulatorThread, waits: list[float]) -> None:
    fault(simulator, kind="slow", delay=1.5, path="/answers/export", skip=1)
    assert_complete(answers_run(simulator, timeout_seconds=0.5))
    assert len(waits) == 1


def test_given_truncated_json_retries(simulator: SimulatorThread, waits: list[float], mode: dict[str, Any]) -> None:
    fault(simulator, kind="truncate", path="/answers/export", skip=1)
    out = answers_run(simulator, **mode)
    assert out.error is None, out.error
    assert len(waits) == 1


def test_given_always_truncated_json_fails_naming_url_and_parse_error(
    simulator: SimulatorThread, waits: list[float], mode: dict[str, Any]
) -> None:
    fault(simulator, kind="truncate", path="/answers/export", times=-1)
    out = answers_run(simulator, max_retries=2, **mode)
    assert out.error is not None
    message = str(out.error)
    assert f"could not parse the JSON body of {simulator.base_url}/answers/export?per_page=1000" in message
    assert "truncated" in message.lower() or "input data" in message.lower()


def test_given_links_next_loop_fails_with_pagination_loop(simulator: SimulatorThread) -> None:
    fault(simulator, kind="loop", path="/answers/export", skip=1)
    out = answers_run(simulator)
    assert out.error is not None
    assert str(out.error).startswith("pagination loop: links.next of ")


def test_given_token_expiry_mid_pagination_reauthenticates_once(simulator: SimulatorThread, waits: list[float]) -> None:
    control(simulator, "POST", "switches", {"token_max_requests": 2})
    out = answers_run(simulator, per_page=250)  # 10 pages: the token dies every 2 requests
    assert_complete(out)
    assert out.tap.authenticator.exchanges == 5
    statuses = [r["status"] for r in control(simulator, "GET", "requests")["requests"]]
    assert statuses.count(401) == 4


def test_given_401_even_after_reauth_fails_clearly(simulator: SimulatorThread, waits: list[float]) -> None:
    control(simulator, "POST", "switches", {"token_max_requests": 0})
    out = answers_run(simulator)
    assert out.error is not None
    assert "HTTP 401 from /api/v1/answers/export even with a fresh bearer token" in str(out.error)
    assert out.tap.authenticator.exchanges == 2


def test_given_server_rate_limit_without_retry_after_fails_after_retries(
    make_simulator: SimulatorFactory, waits: list[float]
) -> None:
    sim = make_simulator(rate_limit_per_hour=3)
    out = answers_run(sim, max_retries=2)
    assert out.error is not None
    assert "HTTP 429 from /api/v1/answers/export" in str(out.error)


def test_client_limiter_keeps_under_the_hourly_budget(simulator: SimulatorThread, waits: list[float]) -> None:
    out = answers_run(simulator, per_page=500, max_requests_per_hour=3)  # auth + 5 pages = 6 requests
    assert_complete(out)
    assert waits == [3600.0, 3600.0, 3600.0]


def test_hostile_answer_keys_on_the_record_path_move_no_bookmark(make_simulator: SimulatorFactory) -> None:
    """An answer keyed by an object or a list is emitted (the target keeps it aside) and never
    becomes the bookmark, which stays on the largest integer key."""
    sim = make_simulator(answers=2_500, hostile_answers_every=97)
    out = answers_run(sim, per_page=500)
    assert out.error is None
    keys = out.ids("answers_export")
    assert len(keys) == 2_500
    assert any(isinstance(key, dict | list) for key in keys)
    assert out.final_state["bookmarks"]["answers_export"]["replication_key_value"] == max(
        key for key in keys if isinstance(key, int)
    )
