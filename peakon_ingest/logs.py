"""The operator's log: text for people, or one JSON object per line (LOG_FORMAT=json) for machines.

In JSON mode the children log JSON too (the SDK's structured formatter, through its
SINGER_SDK_LOG_CONFIG), and each of their lines is passed on as one of ours, marked with `child`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from peakon_ingest.progress import PAGE, Progress

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


def json_logs() -> bool:
    """Whether lines go out as JSON: set up so, or asked for (a bad setting fails before set-up)."""
    handlers = logging.getLogger().handlers
    if handlers:
        return any(isinstance(handler.formatter, JsonFormatter) for handler in handlers)
    return os.environ.get("LOG_FORMAT", "").strip().lower() == "json"


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


# The SDK's console format: `{asctime:23s} | {levelname:8s} | {name:30s} | {message}`.
CONSOLE_LINE = re.compile(r"\d{4}-\d\d-\d\d [\d:,.]+ +\| (?P<level>[A-Z]+) +\| (?P<logger>\S+) +\| (?P<message>.*)")


def child_entry(line: str, *, structured: bool) -> dict[str, Any] | None:
    """A child's log line as level, logger and message, or None for a line that is no log entry (a
    traceback's continuation, stray output)."""
    if structured:
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        if not isinstance(entry, dict):
            return None
        return {"level": str(entry.get("level", "info")).upper(), "logger": entry.get("logger_name"),
                "message": str(entry.get("message"))}  # fmt: skip
    found = CONSOLE_LINE.fullmatch(line)
    return found.groupdict() if found else None


def forward(child: str, line: str, *, structured: bool, progress: Progress | None = None) -> None:
    """Pass one of a child's log lines on, by its structure (never by what its text contains): a page
    as a progress line; warnings; everything else at DEBUG, so LOG_LEVEL=DEBUG shows all a child said
    (a traceback's lines included) and a run's output stays readable otherwise."""
    line = line.rstrip("\n")
    if not line.strip():
        return
    entry = child_entry(line, structured=structured)
    extra: dict[str, Any] = {"child": child}
    if entry is None:
        log.debug("%s: %s", child, line, extra=extra)
        return
    text = "%s" if structured else f"{child}: %s"  # JSON carries the child as a field
    if structured:
        extra["child_logger"] = entry["logger"]
    page = PAGE.fullmatch(entry["message"]) if child == "tap" and entry["level"] == "INFO" else None
    if page is not None and progress is not None:
        shown = progress.page(page["stream"], int(page["page"]), int(page["records"]), float(page["seconds"]))
        if shown is not None:
            log.info(text, shown[0], extra={**extra, **shown[1]})
        return
    level = logging.getLevelName(entry["level"])
    level = level if isinstance(level, int) else logging.INFO
    if entry["message"].startswith("METRIC") or not (structured or level == logging.WARNING or page):
        level = logging.DEBUG  # kept: LOG_LEVEL=DEBUG shows all a child said
    log.log(level, text, entry["message"], extra=extra)
