"""Singer table versions: which version each record belongs to, and when an ACTIVATE_VERSION applies.

A RECORD's `version` is the table version it belongs to; a record without one belongs to none. An
ACTIVATE_VERSION(stream, v) says version v is the whole table: what is older (or of no version)
is no longer in the source. A tap sends it before a full read's records to announce the version,
and may send it again once they are all sent (older SDKs did), or only then. So the first time a
run names a version (no record of it and no ACTIVATE_VERSION for it seen yet) it is an announcement
and retires nothing: applied there it would retire every live document before its record arrives
again. SDK 0.54 taps send only the announcement: their version is still open when the input ends,
and the target applies it then unless `activate_announced_at_end` is off.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def version_of(message: dict[str, Any]) -> int | None:
    """A message's table version: an integer, or None (absent, or no integer)."""
    version = message.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


class TableVersions:
    """The versions the run has named per stream, and the version of the record being read."""

    def __init__(self) -> None:
        self._named: dict[str, set[int]] = {}
        self.current: int | None = None  # the version of the RECORD message being processed
        self.announced: dict[str, int] = {}  # the last ACTIVATE_VERSION per stream: a BATCH's records' version
        self.open: dict[str, int] = {}  # per stream, the last version announced and not applied since

    def record(self, stream: str, version: int | None) -> None:
        """A RECORD of `stream` with this version is being processed."""
        self.current = version
        if version is not None:
            named = self._named.get(stream)
            if named is None:
                self._named[stream] = {version}
            else:
                named.add(version)

    def activate(self, stream: str, version: int) -> bool:
        """An ACTIVATE_VERSION arrived: whether it retires older versions now (False: an announcement)."""
        named = self._named.setdefault(stream, set())
        applies = version in named
        named.add(version)
        self.announced[stream] = version
        if not applies:
            self.open[stream] = version
        elif self.open.get(stream, version) <= version:  # retired with what is older than `version`
            self.open.pop(stream, None)
        return applies


class OldestWritten:
    """The oldest table version among the records a stream queued for writing in this run (a record of
    no version counts as older than any). When it is not older than the version an ACTIVATE_VERSION
    applies, this run's writes left no older document: in a collection that holds only the documents
    this run inserted, nothing is to be retired and none need be read (a first load's full read)."""

    def __init__(self) -> None:
        self._oldest: int | None = None  # None: no record yet, or (with _unversioned) one without a version
        self._unversioned = False

    def add(self, versions: Collection[int], records: int) -> None:
        """A batch of `records`, those with a version having `versions` (a batch's per-key versions)."""
        if len(versions) < records:
            self._unversioned = True
        elif versions:
            lowest = min(versions)
            self._oldest = lowest if self._oldest is None else min(self._oldest, lowest)

    def not_older_than(self, version: int) -> bool:
        """Whether every record queued so far is of `version` or a newer one (True before any)."""
        return not self._unversioned and (self._oldest is None or self._oldest >= version)
