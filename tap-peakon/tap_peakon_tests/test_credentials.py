"""Only the configured host ever gets credentials: a second loopback server plays the foreign host."""

from __future__ import annotations

import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory, control
from singer_sdk.exceptions import FatalAPIError
from tap_peakon.auth import AuthenticationError
from tap_peakon.capped_session import ResponseTooLargeError
from tap_peakon.config_checks import base_url_problem
from tap_peakon.pagination import ForeignLinkError

from .helpers import run_tap, tap_config


@pytest.fixture
def foreign(make_simulator: SimulatorFactory) -> SimulatorThread:
    return make_simulator()


def received(sim: SimulatorThread) -> list[dict[str, object]]:
    return list(control(sim, "GET", "requests")["requests"])


def test_a_next_link_to_another_host_fails_and_is_never_requested(
    simulator: SimulatorThread, foreign: SimulatorThread
) -> None:
    control(simulator, "POST", "switches", {"next_link_origin": foreign.root})
    out = run_tap(tap_config(simulator, per_page=500), streams={"answers_export"})
    assert isinstance(out.error, ForeignLinkError)
    assert str(out.error) == (
        f"links.next of /api/v1/answers/export points to another host ({foreign.root}); "
        "not followed with our credentials"
    )
    assert received(foreign) == []


def test_the_token_exchange_never_follows_a_redirect(simulator: SimulatorThread, foreign: SimulatorThread) -> None:
    control(simulator, "POST", "faults", {"kind": "redirect", "path": "/auth/application", "location": foreign.root})
    out = run_tap(tap_config(simulator), streams={"drivers"})
    assert isinstance(out.error, AuthenticationError)
    assert "answered a redirect (HTTP 307); not followed" in str(out.error)
    assert received(foreign) == []


def test_an_api_redirect_fails_the_stream_without_following_it(
    simulator: SimulatorThread, foreign: SimulatorThread
) -> None:
    control(simulator, "POST", "faults", {"kind": "redirect", "path": "/engagement/drivers", "location": foreign.root})
    out = run_tap(tap_config(simulator), streams={"drivers"})
    assert isinstance(out.error, FatalAPIError)
    assert str(out.error) == "HTTP 307 from /api/v1/engagement/drivers"
    assert received(foreign) == []


def test_errors_name_status_and_path_never_the_body(simulator: SimulatorThread) -> None:
    control(simulator, "POST", "faults", {"kind": "status", "status": 404, "path": "/engagement/drivers"})
    out = run_tap(tap_config(simulator), streams={"drivers"})
    assert str(out.error) == "HTTP 404 from /api/v1/engagement/drivers"  # the body said "injected 404"


@pytest.mark.parametrize(
    ("url", "plain_http_hosts", "problem"),
    [
        ("https://acme.peakon.com/api/v1", "", None),
        ("http://127.0.0.1:8089/api/v1", "", None),
        ("http://localhost:8089/api/v1", "", None),
        ("http://[::1]:8089/api/v1", "", None),
        ("http://acme.peakon.com/api/v1", "", "expected https (plain http only on loopback or to a host in"),
        ("http://simulator:8089/api/v1", "", "expected https (plain http only on loopback or to a host in"),
        ("http://simulator:8089/api/v1", "Simulator, other", None),
        ("http://simulator.evil.example:8089/api/v1", "simulator", "expected https"),
        ("https://me:secret@acme.peakon.com/api/v1", "", "expected a URL without user:password@"),
        ("acme.peakon.com", "", "expected an https URL"),
    ],
)
def test_base_url_must_be_https_except_on_loopback_or_named_hosts_and_carry_no_credentials(
    url: str, plain_http_hosts: str, problem: str | None
) -> None:
    found = base_url_problem(url, {"plain_http_hosts": plain_http_hosts})
    assert (found is None) if problem is None else (found is not None and found.startswith(problem))


def test_a_body_past_the_cap_fails_counted_after_decompression(make_simulator: SimulatorFactory) -> None:
    sim = make_simulator(answers=1_000, gzip_responses=True)
    plain = run_tap(tap_config(sim, per_page=1_000), streams={"answers_export"})
    assert plain.error is None  # gzip bodies are read as any client would
    assert len(plain.records["answers_export"]) == 1_000
    capped = run_tap(tap_config(sim, per_page=1_000, max_response_bytes=200_000), streams={"answers_export"})
    assert isinstance(capped.error, ResponseTooLargeError)
    assert str(capped.error) == (
        "the response from /api/v1/answers/export is larger than max_response_bytes (200000 bytes)"
    )
    page = [r for r in control(sim, "GET", "requests")["requests"] if r["path"].endswith("/answers/export")][-1]
    assert page["status"] == 200  # the server sent it; the tap refused to read it past the cap
