"""The container's long-running process: a crontab from SCHEDULE_CRON, handed to supercronic."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from peakon_ingest.settings import ConfigError, Settings


def crontab_line(settings: Settings) -> str:
    command = shlex.join([sys.executable, "-m", "peakon_ingest.cli", "ingest"])
    return f"{settings.schedule_cron} {command}\n"


def write_crontab(settings: Settings, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by peakon-ingest daemon from SCHEDULE_CRON\n" + crontab_line(settings), encoding="utf-8")
    return path


def supercronic(settings: Settings) -> str:
    found = shutil.which(settings.supercronic_path)
    if found is None:
        msg = f"SUPERCRONIC_PATH: no executable supercronic at {settings.supercronic_path!r}"
        raise ConfigError(msg)
    return found


def exec_supercronic(executable: str, crontab: Path) -> None:
    """Replace this process: supercronic runs the schedule and passes signals to the ingest it runs."""
    os.execv(executable, [executable, str(crontab)])  # noqa: S606 - a fixed executable and argument list
