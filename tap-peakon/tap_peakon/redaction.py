"""PEAKON_REDACT_FIELDS as Singer SDK stream maps, applied in the tap before anything leaves it.

Fields are matched inside each record's `attributes`, where Peakon puts personal data
(`accountEmail`, `answerComment`, `firstName`, ...). Mode `remove` drops them; `hash` replaces each
value with `sha256:<hex of its text>`, so equal values still join and group.
"""

from __future__ import annotations

from typing import Any, Literal

from tap_peakon.names import STREAM_NAMES

RedactMode = Literal["remove", "hash"]
ATTRIBUTES = "record.get('attributes')"


def stream_maps(fields: list[str], mode: RedactMode) -> dict[str, dict[str, Any]]:
    """`stream_maps` config for the tap, redacting `fields` in every stream that has attributes."""
    if not fields:
        return {}
    names = repr(tuple(fields))
    if mode == "hash":
        hashed = "(None if v is None else 'sha256:' + sha256(str(v)))"
        redacted = f"{{k: ({hashed} if k in {names} else v) for k, v in {ATTRIBUTES}.items()}}"
    else:
        redacted = f"{{k: v for k, v in {ATTRIBUTES}.items() if k not in {names}}}"
    expression = f"({redacted} if {ATTRIBUTES} else {ATTRIBUTES})"
    return {stream: {"attributes": expression} for stream in STREAM_NAMES if stream != "drivers_catalog"}
