"""Network failures over real sockets: a server not there yet, none at all, one that trickles."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import backoff._sync
import pytest
import requests
import urllib3
from peakon_simulator import SimulatorThread
from peakon_simulator.testing import SimulatorFactory
from tap_peakon.network import failure

from .helpers import TapOutput, run_tap, tap_config

ANSWERS = 2500


def answers_run(config: dict[str, Any]) -> TapOutput:
    return run_tap(config, streams={"answers_export"})


def test_given_connections_refused_for_3_seconds_then_served_the_run_succeeds_after_retries(
    make_simulator: SimulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request (the token exchange) meets a closed port; the tap backs off as for a 5xx,
    and the server that starts 3 s (of waits) later serves the whole run."""
    first = make_simulator(answers=ANSWERS)
    config = tap_config(first, backoff_base_seconds=0.5, max_retries=8)
    port = first.httpd.server_address[1]
    first.stop()  # nothing listens: connections are refused
    waits: list[float] = []
    started: list[SimulatorThread] = []

    def sleep(seconds: float) -> None:  # the backoff's waits, counted instead of slept
        waits.append(seconds)
        if sum(waits) >= 3 and not started:
            started.append(SimulatorThread(first.state, port=port).start())

    monkeypatch.setattr(backoff._sync, "time", types.SimpleNamespace(sleep=sleep, monotonic=time.monotonic))
    try:
        out = answers_run(config)
    finally:
        for server in started:
            server.stop()
    assert out.error is None, out.error
    assert len(set(out.ids("answers_export"))) == ANSWERS
    summary = out.tap.stats.summary()
    assert summary["retries"] == len(waits) >= 1
    assert sum(waits) >= 3


def test_given_no_server_the_error_names_the_host_the_cause_and_the_setting(
    make_simulator: SimulatorFactory, waits: list[float]
) -> None:
    gone = make_simulator()
    config = tap_config(gone, max_retries=2)
    host = gone.root.removeprefix("http://")
    gone.stop()
    out = answers_run(config)
    assert str(out.error) == f"unreachable after 3 tries: {host}: connection refused (check base_url)"
    assert out.tap.stats.summary()["retries"] == len(waits) == 2


@contextlib.contextmanager
def trickling_server(interval: float) -> Iterator[str]:
    """A server that answers every request with a page's headers, then its body a byte at a time."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            connection.recv(65536)
            body = b'{"data": [' + b" " * 200 + b"]}"  # 10 s at the test's pace: far past the timeout
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            connection.sendall(head.encode())
            for byte in body:
                if stop.wait(interval):
                    return
                connection.sendall(bytes([byte]))

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1"
    finally:
        stop.set()
        listener.close()


def test_given_a_body_trickling_a_byte_at_a_time_each_try_times_out_within_the_timeout(waits: list[float]) -> None:
    timeout, tries = 0.5, 3
    with trickling_server(interval=0.05) as base_url:
        config = {"bearer_token": "token", "base_url": base_url, "company_id": 1, "timeout_seconds": timeout,
                  "max_retries": tries - 1, "backoff_base_seconds": 0.01}  # fmt: skip
        began = time.monotonic()
        out = answers_run(config)
        took = time.monotonic() - began
    assert str(out.error) == f"unreachable after {tries} tries: {base_url.split('/')[2]}: timed out (check base_url)"
    assert len(waits) == tries - 1
    assert timeout * tries <= took < (timeout + 0.5) * tries + 1  # each try ends at its deadline, not the body's end


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
            urllib3.connectionpool.HTTPConnectionPool("x"), "/",
            urllib3.exceptions.NameResolutionError("x", None, socket.gaierror(-2, "Name or service not known")),  # type: ignore[arg-type]
        )), "name not resolved (DNS)"),
        (requests.exceptions.ConnectionError(ConnectionResetError(104, "reset")), "connection reset"),
        (requests.exceptions.ConnectTimeout(), "timed out"),
        (requests.exceptions.ChunkedEncodingError(urllib3.exceptions.ProtocolError("cut")), "response cut short"),
    ],
)  # fmt: skip
def test_a_network_failure_is_named_in_words(error: BaseException, words: str) -> None:
    assert failure(error) == words
