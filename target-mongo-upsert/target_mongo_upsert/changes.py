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


def content_hash(record: dict[str, Any], envelope: Collection[str]) -> str:
    """sha256 of the record's canonical JSON (keys sorted at every level), envelope fields left out."""
    content = {k: v for k, v in record.items() if k not in envelope}
    return hashlib.sha256(_encoder.encode(content)).hexdigest()
