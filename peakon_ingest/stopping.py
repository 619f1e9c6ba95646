"""A stop asked for by SIGTERM or SIGINT (`docker compose stop`, Ctrl-C), held for the whole command.

Installed from a command's start to its end, not only while a pipeline runs: a signal that came a
moment before a run's pipeline started, or while its marts were built, would otherwise meet the
default action and kill the process with its run left `running` and its lock held. What is running
when the stop comes (a pipeline, the scheduler) listens for it; one that starts later is told at once.
The handler only sets flags and calls listeners that do the same: nothing in it takes a lock the
interrupted code may hold.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

Listener = Callable[[int], None]  # called with the signal's number


class StopRequest:
    def __init__(self) -> None:
        self.signum: int | None = None
        self._listeners: list[Listener] = []

    def __call__(self, signum: int, _: FrameType | None = None) -> None:
        first = self.signum is None
        self.signum = signum
        if first:
            for listener in list(self._listeners):
                listener(signum)

    def is_set(self) -> bool:
        return self.signum is not None

    @contextmanager
    def heard_by(self, listener: Listener) -> Iterator[None]:
        """`listener` hears the stop while the block runs; at once if it was asked for already."""
        self._listeners.append(listener)
        try:
            if self.signum is not None:
                listener(self.signum)
            yield
        finally:
            self._listeners.remove(listener)


STOP = StopRequest()


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """SIGTERM and SIGINT ask `STOP` to stop while the block runs (nested blocks keep the same handler)."""
    previous = {sig: signal.signal(sig, STOP) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield STOP
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
