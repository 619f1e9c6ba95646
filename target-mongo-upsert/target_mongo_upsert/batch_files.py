"""Reading Singer BATCH files that sit on this machine."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec
from singer_sdk.helpers._batch import BaseBatchFileEncoding

_decoder = msgspec.json.Decoder()


def local_batch_file(encoding: BaseBatchFileEncoding, url: str) -> Path | None:
    """The path of a local JSONL batch file, or None when the SDK's general reader must handle it."""
    parts = urlsplit(url)
    if encoding.format != "jsonl" or parts.scheme not in {"", "file"}:
        return None
    return Path(unquote(parts.path))


def read_jsonl(path: Path, *, gzipped: bool) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    if gzipped:
        raw = gzip.decompress(raw)
    return _decoder.decode_lines(raw)  # blank lines are skipped
