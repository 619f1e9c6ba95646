#!/usr/bin/env python3
"""A stand-in for supercronic, for tests and the container test only (GitHub, where supercronic is
published, is out of reach here). It behaves as supercronic does where a clean stop is concerned:

- each job runs on its schedule, in a process group of its own (a signal to the scheduler's group
  misses it), with the crontab's `NAME=value` lines in its environment;
- a job still running when its next time comes is not started again (supercronic without -overlapping);
- on SIGTERM or SIGINT it starts nothing more and passes nothing on: it waits for the running jobs,
  then exits 0. With $STANDIN_JOB_ON_STOP set it first starts each job not running, as supercronic
  may when a stop meets a job's start (its scheduler and its signal handling run concurrently).

Schedules are read by peakon-ingest's own parser of supercronic's syntax (5 to 7 fields, @weekly...,
CRON_TZ). supercronic's flags are accepted and ignored. What it does goes to stderr and, when
$STANDIN_LOG names a file, there too.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from peakon_ingest.schedule.cron import Schedule, zone

TICK_SECONDS = 0.2
FIELD_COUNTS = (7, 6, 5, 1)  # the longest expression first, as supercronic tries them


@dataclass
class Job:
    schedule: Schedule
    command: str
    due: dt.datetime
    process: subprocess.Popen[bytes] | None = None


def say(message: str) -> None:
    sys.stderr.write(f"standin-supercronic: {message}\n")
    sys.stderr.flush()
    if os.environ.get("STANDIN_LOG"):
        with Path(os.environ["STANDIN_LOG"]).open("a") as log:
            log.write(message + "\n")


def parse(lines: list[str], now: dt.datetime) -> tuple[list[Job], dict[str, str]]:
    jobs: list[Job] = []
    variables: dict[str, str] = {}
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        if equals and " " not in name:
            variables[name] = value
            continue
        tokens = line.split()
        for count in FIELD_COUNTS:
            try:
                schedule = Schedule.parse(" ".join(tokens[:count]), zone(variables.get("CRON_TZ")))
            except ValueError:
                continue
            jobs.append(Job(schedule, " ".join(tokens[count:]), schedule.after(now)))
            break
        else:
            sys.exit(f"standin-supercronic: cannot read the crontab line {line!r}")
    return jobs, variables


def start(job: Job, variables: dict[str, str]) -> None:
    say(f"starting {job.command}")
    job.process = subprocess.Popen(["/bin/sh", "-c", job.command], process_group=0, env={**os.environ, **variables})


def tick(job: Job, variables: dict[str, str], now: dt.datetime) -> None:
    if job.process is not None and job.process.poll() is not None:
        say(f"job exited {job.process.returncode}")
        job.process = None
    if job.due <= now:
        job.due = job.schedule.after(now)
        if job.process is not None:
            say("job still running: not started again")
            return
        start(job, variables)


def main() -> int:
    crontab = Path(sys.argv[-1]).read_text().splitlines()
    say(f"args {sys.argv[1:]}")
    say(f"crontab {crontab}")
    jobs, variables = parse(crontab, dt.datetime.now(dt.UTC))
    stopping: list[int] = []

    def stop(signum: int, _: FrameType | None) -> None:
        stopping.append(signum)
        say(f"{signal.Signals(signum).name}: waiting for the job")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        for job in jobs:
            tick(job, variables, dt.datetime.now(dt.UTC))
        time.sleep(TICK_SECONDS)
    for job in jobs:
        if os.environ.get("STANDIN_JOB_ON_STOP") and job.process is None:
            start(job, variables)
    for job in jobs:
        if job.process is not None:
            say(f"job exited {job.process.wait()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
