"""Running `tap-peakon | target-mongo-upsert` as two processes joined by a pipe.

Secrets reach the children in config files readable by this user only, in a private temporary
directory removed afterwards; never on a command line.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec
from tap_peakon.names import SUMMARY_PREFIX
from tap_peakon.private_files import write_private

log = logging.getLogger("peakon_ingest")
# The last line of a Python traceback: "package.module.SomeError: what went wrong".
EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (?P<message>.+)$")
TARGET_ERROR_PREFIX = "target-mongo-upsert: error: "
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Pages of answers written by the tap and not yet loaded by the target: enough to keep both busy,
# few enough that a slow MongoDB never fills the disk (a page of 10,000 answers is about 7 MB).
MAX_PENDING_BATCH_FILES = 3
# Variables the children do not need; their secrets come in config files.
SECRET_ENV = ("PEAKON_APP_TOKEN", "MONGO_URI", "TAP_PEAKON_APP_TOKEN", "TAP_PEAKON_BEARER_TOKEN")


class _Envelope(msgspec.Struct):
    type: str
    stream: str | None = None


@dataclass
class ProcessLog:
    """What one child said on stderr that matters: its error, its summary, its last lines."""

    name: str
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))

    def consume(self, line: str) -> None:
        line = line.rstrip("\n")
        self.tail.append(line)
        parts = line.split(" | ", 3)
        message = parts[3].strip() if len(parts) == 4 else line  # noqa: PLR2004 - the SDK's log format
        level = parts[1].strip() if len(parts) == 4 else ""  # noqa: PLR2004
        if message.startswith(SUMMARY_PREFIX):
            self.summary = json.loads(message.removeprefix(SUMMARY_PREFIX))
        elif line.startswith(TARGET_ERROR_PREFIX):
            self.error = line.removeprefix(TARGET_ERROR_PREFIX)
        elif (match := EXCEPTION_LINE.match(line)) and self.error is None:
            self.error = match["message"]
        elif "METRIC" in message:
            return
        elif " page " in message or level == "WARNING":
            log.log(logging.WARNING if level == "WARNING" else logging.INFO, "%s: %s", self.name, message)
        elif level in {"ERROR", "CRITICAL"}:
            log.debug("%s: %s", self.name, message)


@dataclass
class PipelineResult:
    tap_exit: int | None = None
    target_exit: int | None = None
    interrupted: bool = False
    tap: ProcessLog = field(default_factory=lambda: ProcessLog("tap"))
    target: ProcessLog = field(default_factory=lambda: ProcessLog("target"))
    records: Counter[str] = field(default_factory=Counter)
    new_bearer_token: str | None = None

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.tap_exit == 0 and self.target_exit in {0, None}

    @property
    def error(self) -> str | None:
        if self.ok:
            return None
        if self.interrupted:
            return "interrupted"
        return (
            self.target.error
            or self.tap.error
            or f"{_ended('tap', self.tap_exit)}, {_ended('target', self.target_exit)}"
        )


def _ended(name: str, code: int | None) -> str:
    if code is not None and code < 0:
        return f"{name} killed by {signal.Signals(-code).name}"
    return f"{name} exited with {code}"


_LIBC = ctypes.CDLL(None)  # this process's own symbols: libc's prctl among them


def _die_with_parent() -> None:
    """In the child, before exec: if peakon-ingest dies (even by kill -9), the kernel sends SIGTERM,
    so the tap saves its state and stops, and the target commits what it has and stops. Only a C
    call here: both children are started before any thread of ours exists."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="peakon-ingest-"))  # mode 0700
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Pipeline:
    def __init__(
        self,
        *,
        tap_config: dict[str, Any],
        target_config: dict[str, Any] | None,
        state: dict[str, Any] | None,
        streams: list[str] | None,
        heartbeat: Callable[[], None] = lambda: None,
        heartbeat_seconds: float = 60.0,
    ) -> None:
        self.tap_config = tap_config
        self.target_config = target_config
        self.state = state
        self.streams = streams
        self.heartbeat = heartbeat
        self.heartbeat_seconds = heartbeat_seconds
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask the run to stop: the tap ends after its current page, the target commits what it has."""
        self._stop.set()

    def run(self) -> PipelineResult:
        with private_dir() as work:
            return self._run(work)

    def _tap_command(self, work: Path) -> list[str]:
        token_cache = work / "bearer-token"
        config = {**self.tap_config, "token_cache_path": str(token_cache)}
        if self.streams:
            config["streams"] = self.streams
        if self.target_config is not None:
            # Answers travel as BATCH files in this private directory: the target loads each page
            # whole and deletes it once committed.
            batches = work / "batches"
            batches.mkdir(mode=0o700)
            config["batch_config"] = {
                "encoding": {"format": "jsonl", "compression": "none"},
                "storage": {"root": batches.as_uri()},
            }
            config["batch_max_pending_files"] = MAX_PENDING_BATCH_FILES
        command = [
            sys.executable,
            "-m",
            "tap_peakon",
            "--config",
            str(write_private(work / "tap.json", json.dumps(config))),
        ]
        if self.state:
            command += ["--state", str(write_private(work / "state.json", json.dumps(self.state)))]
        return command

    def _run(self, work: Path) -> PipelineResult:
        result = PipelineResult()
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        tap = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self._tap_command(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no thread of ours exists yet
        )  # fmt: skip
        assert tap.stdout is not None
        assert tap.stderr is not None
        target: subprocess.Popen[bytes] | None = None
        if self.target_config is not None:
            target_config = write_private(work / "target.json", json.dumps(self.target_config))
            target = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "target_mongo_upsert", "--config", str(target_config)],
                stdin=tap.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - the readers start below
            )  # fmt: skip
            tap.stdout.close()  # the target owns the read end now: it sees EOF when the tap exits
        readers = [_follow(tap.stderr, result.tap)]
        if target is None:  # dry run: count what the tap emits, write nothing
            readers.append(_count_records(tap.stdout, result.records))
        else:
            assert target.stderr is not None
            readers.append(_follow(target.stderr, result.target))
        self._wait(tap, target, result)
        for reader in readers:
            reader.join(timeout=30)
        token_file = work / "bearer-token"
        if token_file.exists():
            result.new_bearer_token = token_file.read_text(encoding="utf-8").strip() or None
        return result

    def _wait(
        self, tap: subprocess.Popen[bytes], target: subprocess.Popen[bytes] | None, result: PipelineResult
    ) -> None:
        last_beat = time.monotonic()
        signalled = False
        last = target or tap
        while last.poll() is None or tap.poll() is None:
            if self._stop.is_set() and not signalled:
                signalled = result.interrupted = True
                log.warning("stopping: the tap ends its current page, the target commits it and saves state")
                if tap.poll() is None:
                    tap.send_signal(signal.SIGTERM)
            if target is not None and target.poll() is not None and tap.poll() is None:
                tap.kill()  # the target failed: nothing would read the tap's output
            if time.monotonic() - last_beat > self.heartbeat_seconds:
                last_beat = time.monotonic()
                try:
                    self.heartbeat()
                except Exception as err:  # noqa: BLE001 - a missed renewal must not kill the run
                    log.warning("could not renew the run lock (%s); the run goes on", type(err).__name__)
            # Returns as soon as the child exits: a run never waits out a whole tick.
            with contextlib.suppress(subprocess.TimeoutExpired):
                (last if last.poll() is None else tap).wait(timeout=0.1)
        result.tap_exit = tap.returncode
        result.target_exit = None if target is None else target.returncode


def _follow(stream: IO[bytes], sink: ProcessLog) -> threading.Thread:
    def pump() -> None:
        for raw in stream:
            sink.consume(raw.decode("utf-8", "replace"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _count_records(stream: IO[bytes], counts: Counter[str]) -> threading.Thread:
    decoder = msgspec.json.Decoder(_Envelope)

    def pump() -> None:
        for line in stream:
            with contextlib.suppress(msgspec.DecodeError):
                message = decoder.decode(line)
                if message.type == "RECORD" and message.stream:
                    counts[message.stream] += 1

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread
