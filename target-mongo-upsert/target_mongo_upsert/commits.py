"""Commits in the background: while MongoDB writes a batch, the next is read, keyed and sent.

Batches are written by up to `writers` threads at once, so the server always has one to work on
(and a network round trip hides behind another write). Two batches that share a key are never
written at once: the later waits, so the last version of a key wins as it does in sequence. A
state runs on a thread of its own, once every batch queued before it is written, and states run in
the order they came. The first failure stops the line: no write starts after it (a write already
running may still finish), and the error is raised in the caller's thread at its next call. A state
still runs when every write queued before it succeeded and no earlier state failed, even if a write
queued after it failed first (two writers finish in any order): what it covers is committed.
A write may cover EVERY_KEY of its collection (marking removals): it then starts once every earlier
write of that collection is done, and no later write of it starts before it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from collections.abc import Set as AbstractSet
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass


class _EveryKey(frozenset[Hashable]):
    """The keys of a write that may touch any document of its collection (one object: compared by identity)."""


EVERY_KEY: AbstractSet[Hashable] = _EveryKey()


def _share_a_key(these: AbstractSet[Hashable], those: AbstractSet[Hashable]) -> bool:
    return these is EVERY_KEY or those is EVERY_KEY or not these.isdisjoint(those)


@dataclass(frozen=True)
class _Write:
    future: Future[bool]
    collection: str
    keys: AbstractSet[Hashable]


class CommitQueue:
    def __init__(self, writers: int = 2) -> None:
        # A ThreadPoolExecutor finishes its queued jobs before the interpreter exits.
        self._writers = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="write")
        self._states = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state")
        self._max_writes = writers  # each holds a batch of documents in memory
        # Re-entrant: a SIGTERM handler drains the sinks on the main thread, perhaps while it holds it.
        self._lock = threading.RLock()
        self._writes: list[_Write] = []  # not yet seen done
        self._last_state: Future[bool] | None = None
        self._failure: BaseException | None = None
        self._states_ok = True

    def write(self, job: Callable[[], None], collection: str, keys: AbstractSet[Hashable]) -> None:
        """Run `job`, which writes `keys` into `collection`, on a writer thread; waits while every
        writer is busy or a running write shares a key with this one."""

        def start() -> None:
            self._writes.append(_Write(self._writers.submit(self._run, job), collection, keys))

        self._when_free(collection, keys, start)

    def wait_for_writer(self) -> None:
        """Return once a writer is free: a batch file is best decoded when it can be sent at once,
        so no more than `writers` batches are in memory."""
        self._when_free("", frozenset(), lambda: None)  # no keys: only a free writer is waited for

    def _when_free(self, collection: str, keys: AbstractSet[Hashable], then: Callable[[], None]) -> None:
        """Wait until a writer is free and no running write shares a key with `keys` in `collection`;
        then call `then` with the lock held, so nothing can take that writer in between."""
        while True:
            self._raise_failure()
            with self._lock:
                self._writes = [w for w in self._writes if not w.future.done()]
                busy = [w.future for w in self._writes if w.collection == collection and _share_a_key(w.keys, keys)]
                if not busy and len(self._writes) >= self._max_writes:
                    busy = [w.future for w in self._writes]
                if not busy:
                    then()
                    return
            wait(busy, return_when=FIRST_COMPLETED)

    def after_writes(self, job: Callable[[], None]) -> None:
        """Run `job` once every write queued so far is done, and after earlier such jobs."""
        self._raise_failure()
        with self._lock:
            before = [w.future for w in self._writes]
            self._last_state = self._states.submit(self._run_after, before, job)

    def wait(self) -> None:
        """Return once everything queued is done; raise the first failure, if any."""
        wait(self._unfinished())
        self._raise_failure()

    def _unfinished(self) -> list[Future[bool]]:
        with self._lock:
            return [w.future for w in self._writes] + ([self._last_state] if self._last_state else [])

    def _run_after(self, before: list[Future[bool]], job: Callable[[], None]) -> bool:
        """A state: run if every write before it succeeded and every state before it ran (states run
        one at a time, in order, on their own thread: only it reads and writes _states_ok)."""
        self._states_ok = self._states_ok and all(future.result() for future in before) and self._attempt(job)
        return self._states_ok

    def _run(self, job: Callable[[], None]) -> bool:
        """A write: run unless a job has failed already; whether it ran and succeeded."""
        return self._failure is None and self._attempt(job)

    def _attempt(self, job: Callable[[], None]) -> bool:
        try:
            job()
        except BaseException as err:  # noqa: BLE001 - kept, and raised in the caller's thread
            with self._lock:
                self._failure = self._failure or err
            return False
        return True

    def _raise_failure(self) -> None:
        if self._failure is None:
            return
        # Let writes already under way finish (or skip) first: nothing is logged after the error.
        wait(self._unfinished())
        raise self._failure
