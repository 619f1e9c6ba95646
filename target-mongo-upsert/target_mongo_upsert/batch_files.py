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


def read_lines(path: Path, *, gzipped: bool) -> bytes:
    """The file's JSON lines, decompressed."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if gzipped else raw


def decode_lines(lines: bytes) -> list[Any]:
    """Every line's JSON value (blank lines skipped)."""
    return _decoder.decode_lines(lines)
