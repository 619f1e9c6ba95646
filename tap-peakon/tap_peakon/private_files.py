"""Files that hold secrets or personal data: readable by this user only, from the first byte."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, content: bytes | str) -> Path:
    """Create (or replace) `path` with mode 0600; the mode is set at creation, never after."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path
