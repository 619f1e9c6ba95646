"""The container's long-running process: it writes a crontab from SCHEDULE_CRON (and CRON_TZ) and
runs supercronic as its child, staying the container's main process so a stop reaches the ingest.

supercronic starts each job in a process group of its own and, on SIGTERM, only waits for it; so
the daemon passes SIGTERM (or SIGINT) on to supercronic and to each job's process group, also to a
job supercronic started as the stop came: the ingest commits its current page, saves its state,
records the run as interrupted and exits, and supercronic, its jobs done, exits too.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from peakon_ingest.settings import ConfigError, Settings
from peakon_ingest.stopping import StopRequest

PROC = Path("/proc")
PASS_ON_SECONDS = 0.2


def crontab_text(settings: Settings) -> str:
    # `exec`: the shell supercronic starts the job with becomes the ingest, so a stop signal to the
    # job's process group reaches the ingest alone, and supercronic waits for the ingest itself.
    command = "exec " + shlex.join([sys.executable, "-m", "peakon_ingest.cli", "ingest"])
    lines = ["# written by peakon-ingest daemon from SCHEDULE_CRON and CRON_TZ"]
    if settings.cron_tz:  # supercronic schedules the lines below in this zone
        lines.append(f"CRON_TZ={settings.cron_tz}")
    lines.append(f"{settings.schedule_cron} {command}")
    return "\n".join(lines) + "\n"


def write_crontab(settings: Settings, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(crontab_text(settings), encoding="utf-8")
    return path


def supercronic(settings: Settings) -> str:
    found = shutil.which(settings.supercronic_path)
    if found is None:
        msg = (
            f"SUPERCRONIC_PATH: no executable supercronic at {settings.supercronic_path!r}; install it, or "
            "schedule `peakon-ingest ingest` with cron or a systemd timer instead (README: your own Peakon)"
        )
        raise ConfigError(msg)
    return found


def scheduler_command(executable: str, crontab: Path, settings: Settings) -> list[str]:
    """Jobs' lines passed through once (not wrapped in supercronic's own log lines); JSON with LOG_FORMAT=json."""
    return [executable, "-passthrough-logs", *(["-json"] if settings.log_format == "json" else []), str(crontab)]


def job_groups(scheduler: int) -> set[int]:
    """The process groups of the scheduler's children, its jobs, read from /proc. Not of their
    children: an ingest stops its tap and target itself, in order (the tap first, the target on the
    tap's end), and a signal of ours reaching the target too would have it drain its sinks inside a
    signal handler, out of that order."""
    groups: set[int] = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == scheduler:
            groups.add(int(fields[2]))
    with contextlib.suppress(ProcessLookupError):
        groups.discard(os.getpgid(scheduler))
    return groups - {os.getpgrp()}


def run_scheduler(command: list[str], stop: StopRequest) -> int:
    """Run supercronic until it exits; a stop is passed on to it and to every job's process group."""
    child = subprocess.Popen(command)  # noqa: S603 - the configured supercronic, fixed arguments
    heard = threading.Event()
    threading.Thread(target=pass_on, args=(child, stop, heard), daemon=True).start()
    with stop.heard_by(lambda _: heard.set()):
        return child.wait()


def pass_on(child: subprocess.Popen[bytes], stop: StopRequest, heard: threading.Event) -> None:
    """Once a stop is heard: to supercronic first (it starts no job after it), then to each job's
    process group, again every PASS_ON_SECONDS for a job it started in the meantime, until it exits
    (it waits for its jobs). Not in the signal handler: the jobs are looked up in /proc."""
    heard.wait()
    signum = stop.signum or signal.SIGTERM
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signum)
    told: set[int] = set()
    while child.returncode is None:
        for group in job_groups(child.pid) - told:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signum)
            told.add(group)
        time.sleep(PASS_ON_SECONDS)
