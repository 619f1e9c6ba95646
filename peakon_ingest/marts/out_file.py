"""`export --out`: the file is claimed before any work and written whole, private, or not at all.

A temporary file (mode 0600) is created beside the target first: that proves the directory exists
and is writable before the export is computed (a check of permission bits would say yes to root
on a read-only directory). Only a regular file or a new path is replaced: a symlink, FIFO or
device at the path is refused, never written through nor replaced.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Self

STDOUT = "-"
KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


class OutFileError(ValueError):
    """The path cannot take the export; the message is one line naming `--out`."""


def refuse_special(path: Path) -> None:
    """Raise when something other than a regular file is at `path` (a missing path is fine)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    for test, kind in KINDS:
        if test(mode):
            msg = f"--out: {path} is {kind}; expected a regular file or a new path"
            raise OutFileError(msg)


class OutFile:
    """The claimed path: `commit` puts the data in place atomically; until then nothing is there."""

    def __init__(self, path: Path) -> None:
        refuse_special(path)
        folder = path.parent
        if not folder.is_dir():
            msg = f"--out: directory {folder} does not exist"
            raise OutFileError(msg)
        try:
            handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
        except OSError as err:
            msg = f"--out: cannot write in {folder} ({(err.strerror or str(err)).lower()})"
            raise OutFileError(msg) from None
        self.path = path
        self._handle = handle
        self._partial = Path(partial)

    def commit(self, data: bytes) -> None:
        with os.fdopen(self._handle, "wb") as file:
            self._handle = -1
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        refuse_special(self.path)  # something put there while the export ran is still refused
        self._partial.replace(self.path)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.discard()

    def discard(self) -> None:
        """Remove what was not committed."""
        if self._handle >= 0:
            os.close(self._handle)
            self._handle = -1
        self._partial.unlink(missing_ok=True)


def claim(out: Path | None) -> OutFile | None:
    """The `--out` path claimed, or None for standard output (no `--out`, or `-`)."""
    return None if out is None or str(out) == STDOUT else OutFile(out)
