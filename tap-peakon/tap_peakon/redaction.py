"""`redact_fields` as Singer SDK stream maps, applied in the tap before anything leaves it.

Fields are matched inside each record's `attributes`, where Peakon puts personal data
(`accountEmail`, `answerComment`, `firstName`, ...). Mode `remove` drops them; `hash` replaces each
value with `sha256:<hex of its text>`, so equal values still join and group.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from tap_peakon.names import STREAM_NAMES

RedactMode = Literal["remove", "hash"]
MODES: tuple[str, ...] = get_args(RedactMode)
ATTRIBUTES = "record.get('attributes')"
FIELD_NAME = re.compile(r"[A-Za-z0-9_-]+")
# Streams whose records carry `attributes` (the driver catalog has none).
REDACTED_STREAMS = tuple(stream for stream in STREAM_NAMES if stream != "drivers_catalog")


def parse_fields(value: str | list[str] | None) -> list[str]:
    """Field names from a comma-separated text or a list; a name with other characters is an error."""
    names = value.split(",") if isinstance(value, str) else list(value or [])
    names = [name.strip() for name in names if name.strip()]
    bad = [name for name in names if not FIELD_NAME.fullmatch(name)]
    if bad:
        msg = "expected comma-separated field names such as accountEmail,answerComment"
        raise ValueError(msg)
    return names


def stream_maps(fields: list[str], mode: str) -> dict[str, dict[str, Any]]:
    """`stream_maps` config redacting `fields` in every stream that has attributes."""
    if not fields:
        return {}
    names = repr(tuple(fields))
    if mode == "hash":
        hashed = "(None if v is None else 'sha256:' + sha256(str(v)))"
        redacted = f"{{k: ({hashed} if k in {names} else v) for k, v in {ATTRIBUTES}.items()}}"
    else:
        redacted = f"{{k: v for k, v in {ATTRIBUTES}.items() if k not in {names}}}"
    expression = f"({redacted} if {ATTRIBUTES} else {ATTRIBUTES})"
    return {stream: {"attributes": expression} for stream in REDACTED_STREAMS}
