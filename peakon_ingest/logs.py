"""The operator's log: text for people, or one JSON object per line (LOG_FORMAT=json) for machines.

In JSON mode the children log JSON too (the SDK's structured formatter, through its
SINGER_SDK_LOG_CONFIG), and each of their lines is passed on as one of ours, marked with `child`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("peakon_ingest")
# LogRecord attributes that are not extras worth printing.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def setup_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # pymongo logs whole commands at DEBUG, stored bearer tokens included: never below WARNING.
    logging.getLogger("pymongo").setLevel(max(logging.getLevelName(level), logging.WARNING))


def child_log_config(path: Path, level: str) -> Path:
    """A logging config (JSON is YAML) that makes an SDK plugin log one JSON object per line."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "singer_sdk.logging.StructuredFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def forward(child: str, line: str, *, structured: bool) -> None:
    """Pass one of a child's log lines on: all of them in JSON mode (metrics at DEBUG); in text mode
    the per-page progress and the warnings, so a run's output stays readable."""
    line = line.rstrip("\n")
    if not line.strip():
        return
    if structured:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            level = logging.getLevelName(str(entry.get("level", "info")).upper())
            level = level if isinstance(level, int) else logging.INFO
            if entry.get("message") == "METRIC":  # kept, at DEBUG: LOG_LEVEL=DEBUG shows all a child said
                level = logging.DEBUG
            log.log(level, "%s", entry.get("message"), extra={"child": child, "child_logger": entry.get("logger_name")})
            return
        log.info("%s", line, extra={"child": child})
        return
    parts = line.split(" | ", 3)  # the SDK's console format: time | level | logger | message
    message = parts[3].strip() if len(parts) == 4 else line  # noqa: PLR2004
    level = parts[1].strip() if len(parts) == 4 else ""  # noqa: PLR2004
    if "METRIC" in message:
        return
    if " page " in message or level == "WARNING":
        log.log(logging.WARNING if level == "WARNING" else logging.INFO, "%s: %s", child, message)
