"""A stop (SIGTERM, SIGINT) is held for the whole command and heard by what runs then; the daemon
passes it on to the scheduler's jobs only, never past them to an ingest's tap and target."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from peakon_ingest.schedule.daemon import job_groups
from peakon_ingest.stopping import StopRequest

# A scheduler stand-in: one job in a session of its own, which starts a child in another session
# (as an ingest starts its tap and target); each prints its process group.
TREE = """
import os, subprocess, sys, time
if sys.argv[1] == "scheduler":
    job = subprocess.Popen([sys.executable, "-c", sys.argv[2], "job", sys.argv[2]], start_new_session=True)
elif sys.argv[1] == "job":
    tap = subprocess.Popen([sys.executable, "-c", sys.argv[2], "tap", sys.argv[2]], start_new_session=True)
print(sys.argv[1], os.getpgrp(), flush=True)
time.sleep(60)
"""


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    process = subprocess.Popen(
        [sys.executable, "-c", TREE, "scheduler", TREE], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None
    groups = dict(line.split() for line in (process.stdout.readline() for _ in range(3)))
    try:
        yield process, {name: int(group) for name, group in groups.items()}
    finally:
        for group in groups.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(group), signal.SIGKILL)
        process.wait()


def test_the_daemon_finds_the_jobs_groups_and_not_their_childrens(
    scheduler: tuple[subprocess.Popen[str], dict[str, int]],
) -> None:
    process, groups = scheduler
    assert job_groups(process.pid) == {groups["job"]}
    assert groups["tap"] not in job_groups(process.pid)


def test_a_listener_hears_a_stop_once_and_at_once_if_it_came_before() -> None:
    stop = StopRequest()
    heard: list[tuple[str, int]] = []
    with stop.heard_by(lambda signum: heard.append(("early", signum))):
        stop(signal.SIGTERM)
        stop(signal.SIGINT)  # a second signal: nothing more to tell
    assert heard == [("early", signal.SIGTERM)]
    with stop.heard_by(lambda signum: heard.append(("late", signum))):  # started after the stop
        pass
    assert heard[-1] == ("late", signal.SIGINT)
    stop(signal.SIGTERM)
    assert len(heard) == 2  # a listener whose block ended hears nothing


HELD = """
import os, signal, time
from peakon_ingest.stopping import stop_on_signals
with stop_on_signals() as stop:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)  # the handler runs on the main thread between two bytecodes
    print("held", stop.signum == signal.SIGTERM, flush=True)
os.kill(os.getpid(), signal.SIGTERM)  # the default action again once the command is done
time.sleep(5)
print("not reached")
"""


def test_a_signal_while_the_command_runs_is_held_and_the_default_comes_back_after() -> None:
    done = subprocess.run([sys.executable, "-c", HELD], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout == "held True\n", done.stderr
    assert done.returncode == -signal.SIGTERM
