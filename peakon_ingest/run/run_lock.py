"""A lock document with an expiry, so two ingests (or two containers) never run at once."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from pathlib import Path
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

LOCKS = "locks"
LOCK_ID = "ingest"


class LockHeldError(RuntimeError):
    pass


def runs_peakon_ingest(pid: int) -> bool:
    """Whether process `pid` of this machine is alive and runs peakon-ingest."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"peakon_ingest" in cmdline or b"peakon-ingest" in cmdline


def pid_namespace() -> str | None:
    """This process's pid namespace (`pid:[4026531836]`), where /proc tells; a pid names the same
    process only within one: containers on host networking share the host's name, not its pids."""
    try:
        return str(Path("/proc/self/ns/pid").readlink())
    except OSError:
        return None


def holder_is_gone(held: dict[str, Any]) -> bool:
    """A holder in this host's pid namespace whose process no longer runs peakon-ingest died without
    releasing (kill -9, OOM): its lock need not be waited out. Any other holder (another host, another
    container, or a lock that does not say) is trusted until expiry."""
    here = pid_namespace()
    if held.get("host") != socket.gethostname() or here is None or held.get("pid_namespace") != here:
        return False
    return isinstance(held.get("pid"), int) and not runs_peakon_ingest(held["pid"])


class IngestLock:
    """Expiry is stored as epoch seconds: a number compares the same on every MongoDB server."""

    def __init__(self, db: Database[dict[str, Any]], owner: str, ttl_seconds: float) -> None:
        self.collection = db[LOCKS]
        self.owner = owner
        self.ttl = ttl_seconds

    def _document(self) -> dict[str, Any]:
        expires = time.time() + self.ttl
        return {
            "_id": LOCK_ID,
            "owner": self.owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_namespace": pid_namespace(),
            "expires_at": expires,
            "expires_at_utc": dt.datetime.fromtimestamp(expires, dt.UTC).isoformat(timespec="seconds"),
        }

    def acquire(self) -> None:
        try:
            self.collection.insert_one(self._document())
        except DuplicateKeyError:
            held = self.collection.find_one({"_id": LOCK_ID}) or {}
            expired = float(held.get("expires_at") or 0) < time.time() or holder_is_gone(held)
            # Take over an expired lock only if nobody else did since we read it.
            if (
                expired
                and self.collection.replace_one(
                    {"_id": LOCK_ID, "owner": held.get("owner"), "expires_at": held.get("expires_at")}, self._document()
                ).modified_count
            ):
                return
            if not expired:
                msg = (
                    f"another ingest is running (run {held.get('owner')} on {held.get('host')}, "
                    f"pid {held.get('pid')}); "
                    f"its lock expires at {held.get('expires_at_utc')}"
                )
                raise LockHeldError(msg) from None
            raise LockHeldError("another ingest took over the expired lock first") from None

    def refresh(self) -> None:
        self.collection.replace_one({"_id": LOCK_ID, "owner": self.owner}, self._document())

    def release(self) -> None:
        self.collection.delete_one({"_id": LOCK_ID, "owner": self.owner})
