"""Singer BATCH files for the answers export: one JSONL file per API page.

A page is written whole (its lines made by page_lines), and the target loads the file whole.
This skips the per-record Singer steps (message framing, selection, type conformance) that cost
several times the real work on a multi-million-answer export.
"""

from __future__ import annotations

import gzip
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec
from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig

from tap_peakon.private_files import write_private

ENCODER = msgspec.json.Encoder()


def local_root(config: BatchConfig) -> Path | None:
    """The directory of a `file://` storage root; None for remote storage (left to the SDK)."""
    url = urlsplit(config.storage.root)
    return Path(unquote(url.path)) if url.scheme in {"", "file"} else None


def wait_for_room(config: BatchConfig, stream: str, max_pending: int, poll: float = 0.05) -> None:
    """Backpressure: wait while `max_pending` of this stream's files are still unconsumed (the target
    deletes each file once committed). Without it the tap, whose BATCH messages are tiny, would run
    ahead of a slow MongoDB and fill the disk with a whole export."""
    root = local_root(config)
    if not max_pending or root is None:
        return
    while len(list(root.glob(f"{config.storage.prefix or ''}{stream}-*.jsonl*"))) >= max_pending:
        time.sleep(poll)


def encode_lines(records: list[dict[str, Any]]) -> bytes:
    return ENCODER.encode_lines(records)


def write_batch(config: BatchConfig, stream: str, payload: bytes) -> tuple[BaseBatchFileEncoding, list[str]]:
    """Write `payload` (JSONL) as one file (gzip if configured); return the encoding and manifest."""
    root = local_root(config)
    if root is None or config.encoding.format != "jsonl":
        msg = "batch_config: tap-peakon writes jsonl batches to a local file:// root only"
        raise ValueError(msg)
    root.mkdir(parents=True, exist_ok=True)
    gzipped = config.encoding.compression == "gzip"
    path = root / f"{config.storage.prefix or ''}{stream}-{uuid.uuid4().hex}.jsonl{'.gz' if gzipped else ''}"
    if gzipped:
        payload = gzip.compress(payload, compresslevel=1)
    write_private(path, payload)  # answers carry personal data
    return config.encoding, [path.as_uri()]
