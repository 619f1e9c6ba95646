"""Sleeping until a child process exits or someone asks to wake us, without polling.

A run's supervisor loop waits minutes for the tap and the target. Popen.wait(timeout) polls (about
90 wake-ups a second: 7 ms of CPU per second of a run, most of the CLI's CPU in a long load); here
one `select` sleeps on a Linux pidfd per child and on a pipe that `wake()` writes (safe from a
signal handler). Elsewhere the children are looked at every POLL_SECONDS instead.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess

POLL_SECONDS = 0.1


class ChildExits:
    def __init__(self, children: list[subprocess.Popen[bytes]]) -> None:
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._pidfds: dict[int, subprocess.Popen[bytes]] = {}
        try:
            for child in children:
                self._pidfds[os.pidfd_open(child.pid)] = child
        except (AttributeError, OSError):  # not Linux 5.3+: poll
            self._close_pidfds(list(self._pidfds))
        self._polling = not self._pidfds

    def wake(self) -> None:
        """End the current (or next) `wait` now."""
        with contextlib.suppress(BlockingIOError):  # a wake-up is pending already
            os.write(self._wake_write, b"\0")

    def wait(self, timeout: float) -> None:
        """Return when a child has exited, `wake` was called, or `timeout` seconds passed."""
        # An exited child's pidfd stays readable: watch only those still running.
        self._close_pidfds([fd for fd, child in self._pidfds.items() if child.poll() is not None])
        limit = min(timeout, POLL_SECONDS) if self._polling else timeout
        ready, _, _ = select.select([self._wake_read, *self._pidfds], [], [], max(limit, 0.0))
        if self._wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 64)

    def _close_pidfds(self, fds: list[int]) -> None:
        for fd in fds:
            os.close(fd)
            self._pidfds.pop(fd, None)

    def close(self) -> None:
        self._close_pidfds(list(self._pidfds))
        os.close(self._wake_read)
        os.close(self._wake_write)
