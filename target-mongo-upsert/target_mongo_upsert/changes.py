"""What a record's content is, as a stable hash, so a run can tell new, changed and unchanged apart.

The hash covers the record without its envelope fields (those that differ between any two reads of
the same content: when and by which run it was fetched, the URL it came from); which fields those
are is the target's `envelope_fields` setting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(order="sorted")
_ENCODING_ERRORS = (TypeError, ValueError, RecursionError, msgspec.MsgspecError)  # what encoding a value may raise


def content_json(record: dict[str, Any], envelope: Collection[str]) -> bytes | None:
    """The record's canonical JSON (keys sorted at every level), envelope fields left out; None when
    it has a value JSON cannot hold (or nests deeper than the encoder goes)."""
    content = record
    if envelope:
        content = record.copy()  # then a pop per envelope field: cheaper than filtering every field
        for name in envelope:
            content.pop(name, None)
    try:
        return _encoder.encode(content)
    except _ENCODING_ERRORS:
        return None


def content_hash(content: bytes) -> str:
    """sha256 of `content_json`: one text per content, whatever the key order it came in."""
    return hashlib.sha256(content).hexdigest()
