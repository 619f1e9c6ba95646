"""The commit queue on its own: order, overlap, key conflicts and fail-stop, with jobs that record
what ran when."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from target_mongo_upsert.commits import EVERY_KEY, CommitQueue


class Journal:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()

    def job(self, name: str, *, hold: threading.Event | None = None, fail: bool = False) -> Callable[[], None]:
        def run() -> None:
            with self.lock:
                self.lines.append(f"start {name}")
            if hold is not None:
                assert hold.wait(10)
            if fail:
                msg = f"{name} failed"
                raise RuntimeError(msg)
            with self.lock:
                self.lines.append(f"end {name}")

        return run


def eventually(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_state_waits_for_every_write_before_it_not_for_later_ones() -> None:
    journal, queue, release = Journal(), CommitQueue(writers=2), threading.Event()
    queue.write(journal.job("w1", hold=release), "orders", {1, 2})
    queue.after_writes(journal.job("state1"))
    queue.write(journal.job("w2"), "orders", {3})
    assert eventually(lambda: "end w2" in journal.lines)  # a later write did not wait for w1
    assert "start state1" not in journal.lines  # w1 is still being written
    release.set()
    queue.wait()
    assert journal.lines.index("start state1") > journal.lines.index("end w1")


def test_writes_sharing_a_key_run_one_after_the_other() -> None:
    journal, queue, release = Journal(), CommitQueue(writers=2), threading.Event()
    queue.write(journal.job("old", hold=release), "orders", {7, 8})
    threading.Timer(0.2, release.set).start()
    queue.write(journal.job("new"), "orders", {8, 9})  # waits: key 8 is being written
    queue.wait()
    assert journal.lines == ["start old", "end old", "start new", "end new"]


def test_the_same_key_in_another_collection_does_not_wait() -> None:
    journal, queue, release = Journal(), CommitQueue(writers=2), threading.Event()
    queue.write(journal.job("orders", hold=release), "orders", {1})
    queue.write(journal.job("customers"), "customers", {1})
    assert eventually(lambda: "end customers" in journal.lines)
    release.set()
    queue.wait()


def test_writes_beyond_the_writers_wait_for_a_free_one() -> None:
    journal, queue, release = Journal(), CommitQueue(writers=2), threading.Event()
    queue.write(journal.job("w1", hold=release), "orders", {1})
    queue.write(journal.job("w2", hold=release), "orders", {2})
    threading.Timer(0.2, release.set).start()
    queue.write(journal.job("w3"), "orders", {3})  # returns once w1 or w2 is done
    assert "end w1" in journal.lines or "end w2" in journal.lines
    queue.wait()


def test_a_failed_write_stops_everything_after_it_and_is_raised() -> None:
    journal, queue, release = Journal(), CommitQueue(writers=1), threading.Event()
    queue.write(journal.job("bad", hold=release, fail=True), "orders", {1})
    queue.after_writes(journal.job("state"))
    release.set()
    with pytest.raises(RuntimeError, match="bad failed"):
        queue.write(journal.job("later"), "orders", {2})
    with pytest.raises(RuntimeError, match="bad failed"):
        queue.wait()
    assert journal.lines == ["start bad"]


def test_a_state_covering_only_good_writes_is_saved_when_a_later_write_fails_first() -> None:
    """Two writers finish in any order: a later write failing before an earlier one is done must not
    cost the earlier one's state; the states after the failure are never run."""
    journal, queue, release = Journal(), CommitQueue(writers=2), threading.Event()
    queue.write(journal.job("w1", hold=release), "orders", {1})
    queue.after_writes(journal.job("state1"))
    queue.write(journal.job("w2", fail=True), "orders", {2})
    queue.after_writes(journal.job("state2"))
    assert eventually(lambda: "start w2" in journal.lines)
    time.sleep(0.1)  # w2's failure is recorded while w1 is still being written
    release.set()
    with pytest.raises(RuntimeError, match="w2 failed"):
        queue.wait()
    assert "end state1" in journal.lines
    assert "start state2" not in journal.lines


def test_waiting_for_a_writer_returns_once_one_is_free() -> None:
    journal, queue, release = Journal(), CommitQueue(writers=2), threading.Event()
    queue.write(journal.job("w1", hold=release), "orders", {1})
    queue.wait_for_writer()  # one of two is free
    queue.write(journal.job("w2", hold=release), "orders", {2})
    threading.Timer(0.2, release.set).start()
    queue.wait_for_writer()
    assert "end w1" in journal.lines or "end w2" in journal.lines
    queue.wait()


def test_a_write_of_every_key_waits_for_the_collections_earlier_writes_and_holds_back_its_later_ones() -> None:
    journal, queue, release = Journal(), CommitQueue(writers=3), threading.Event()
    queue.write(journal.job("w1", hold=release), "orders", {1})
    queue.write(journal.job("other"), "customers", {1})
    threading.Timer(0.2, release.set).start()
    queue.write(journal.job("removals"), "orders", EVERY_KEY)  # returns once w1 is done and it started
    queue.write(journal.job("w2"), "orders", {2})
    queue.wait()
    assert journal.lines.index("end w1") < journal.lines.index("start removals")
    assert journal.lines.index("end removals") < journal.lines.index("start w2")
