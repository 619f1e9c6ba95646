"""The container's long-running process: it writes a crontab from SCHEDULE_CRON (and CRON_TZ) and
runs supercronic as its child, staying the container's main process so a stop reaches the ingest.

supercronic starts each job in a process group of its own and, on SIGTERM, only waits for it; so
the daemon passes SIGTERM (or SIGINT) on to supercronic and to each job's process group: the ingest
commits its current page, saves its state, records the run as interrupted and exits, and
supercronic, its job done, exits too.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from peakon_ingest.settings import ConfigError, Settings

PROC = Path("/proc")


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
    """The process groups of the scheduler's descendants (its jobs), read from /proc."""
    parents: dict[int, int] = {}
    groups: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)], groups[int(entry.name)] = int(fields[1]), int(fields[2])
    found: set[int] = set()
    frontier = [scheduler]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.update(groups[pid] for pid in children)
        frontier.extend(children)
    return found - {groups.get(scheduler), os.getpgrp()}


def run_scheduler(command: list[str]) -> int:
    """Run supercronic until it exits; a stop signal goes to it and to every job's process group."""
    child = subprocess.Popen(command)  # noqa: S603 - the configured supercronic, fixed arguments

    def forward(signum: int, _: FrameType | None) -> None:
        for group in job_groups(child.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signum)
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
