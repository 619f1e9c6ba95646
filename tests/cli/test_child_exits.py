"""The supervisor's sleep: it ends when a child exits or a wake-up comes, with pidfds or by polling."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from peakon_ingest.run.child_exits import POLL_SECONDS, ChildExits

LONG = 60.0  # a wait that must end long before this


def sleeper(seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


@pytest.fixture(params=["pidfd", "polling"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "polling":
        monkeypatch.delattr(os, "pidfd_open", raising=False)  # as on a system without pidfds
    elif not hasattr(os, "pidfd_open"):
        pytest.skip("no pidfd_open here")
    return str(request.param)


def test_a_child_exiting_ends_the_wait(mode: str) -> None:
    short, long = sleeper(0.5), sleeper(LONG)
    exits = ChildExits([short, long])
    try:
        started = time.monotonic()
        while short.poll() is None and time.monotonic() - started < LONG:
            exits.wait(LONG)
        assert short.poll() == 0
        assert time.monotonic() - started < LONG / 2
        # The exited child no longer wakes it: a short wait lasts its time (polling: a poll's).
        before = time.monotonic()
        exits.wait(0.3)
        assert time.monotonic() - before >= (0.25 if mode == "pidfd" else POLL_SECONDS * 0.8)
    finally:
        long.kill()
        long.wait()
        exits.close()


def test_wake_ends_the_wait_even_from_another_thread(mode: str) -> None:
    child = sleeper(LONG)
    exits = ChildExits([child])
    try:
        exits.wake()  # before the wait: the next wait ends at once
        started = time.monotonic()
        exits.wait(LONG)
        assert time.monotonic() - started < LONG / 2
        threading.Timer(0.2, exits.wake).start()
        started = time.monotonic()
        while time.monotonic() - started < 0.15:  # a wait ends only when its time is up...
            exits.wait(0.05)
        exits.wait(LONG)  # ...or on the wake-up
        assert time.monotonic() - started < LONG / 2
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()
        exits.close()
