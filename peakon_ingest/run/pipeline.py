"""Running `tap-peakon | target-mongo-upsert` as two processes joined by a pipe.

Secrets reach the children in config files readable by this user only, in a private temporary
directory removed afterwards; never on a command line.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import msgspec
from tap_peakon.contract import TapSummary, write_private
from target_mongo_upsert.contract import TargetSummary

from peakon_ingest.logs import child_log_config, forward
from peakon_ingest.plugin_settings import TAP, variable_for
from peakon_ingest.progress import Progress
from peakon_ingest.run.child_exits import ChildExits
from peakon_ingest.run.run_lock import runs_peakon_ingest

log = logging.getLogger("peakon_ingest")
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# After the run's deadline, how long the tap has to end its page and the target to commit it before
# both are killed (a request stuck past it cannot hold the run).
DEADLINE_GRACE_SECONDS = 60.0
# Pages of answers written by the tap and not yet loaded by the target: enough to keep both busy,
# few enough that a slow MongoDB never fills the disk (a page of 10,000 answers is about 7 MB).
MAX_PENDING_BATCH_FILES = 3
# Variables the children do not need; their secrets come in config files.
SECRET_ENV = ("PEAKON_APP_TOKEN", "MONGO_URI", "TAP_PEAKON_APP_TOKEN", "TAP_PEAKON_BEARER_TOKEN")


DEADLINE = "deadline"  # the run's error_type when PEAKON_RUN_TIMEOUT stopped it
Summary = TypeVar("Summary", TapSummary, TargetSummary)


class SummaryError(ValueError):
    """A child wrote a summary its contract does not describe (a plugin of another version)."""


class _Envelope(msgspec.Struct):
    type: str
    stream: str | None = None


def read_summary(path: Path, kind: type[Summary]) -> Summary | None:
    """A child's summary file as its contract types it, or None when it ended before writing one. A
    file of another shape (a key renamed, a type changed) is an error, never a summary of Nones."""
    try:
        data = path.read_bytes()
        msgspec.json.decode(data)
    except (OSError, msgspec.DecodeError):
        return None
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as err:
        raise SummaryError(f"{path.name} breaks its plugin's contract: {err}") from err


@dataclass
class PipelineResult:
    tap_exit: int | None = None
    target_exit: int | None = None
    interrupted: bool = False
    deadline_seconds: float | None = None  # set when the run was stopped at its deadline
    tap: TapSummary | None = None  # the tap's summary file
    target: TargetSummary | None = None  # the target's summary file
    records: Counter[str] = field(default_factory=Counter)
    new_bearer_token: str | None = None

    @property
    def ok(self) -> bool:
        return (
            not self.interrupted
            and self.deadline_seconds is None
            and self.tap_exit == 0
            and self.target_exit in {0, None}
        )

    @property
    def error(self) -> str | None:
        """Why the run failed: the first failure in the pipe's order of blame. The target's own error,
        or its death, comes first (the tap may only have lost its reader); then the tap's."""
        if self.ok:
            return None
        if self.interrupted:
            return "interrupted"
        if self.deadline_seconds is not None:
            return (
                f"deadline: stopped after PEAKON_RUN_TIMEOUT ({self.deadline_seconds:g} s); "
                "what was committed is kept, the next run goes on from it"
            )
        return self._failure()[0]

    @property
    def error_type(self) -> str | None:
        """The class of the error that failed the run, as the child that raised it named it."""
        if self.deadline_seconds is not None:
            return DEADLINE
        return None if self.ok or self.interrupted else self._failure()[1]

    def _failure(self) -> tuple[str, str | None]:
        summaries: tuple[tuple[str, TapSummary | TargetSummary | None, int | None], ...] = (
            ("target", self.target, self.target_exit),
            ("tap", self.tap, self.tap_exit),
        )
        tap_setting = self.tap["error_setting"] if self.tap else None  # only the tap names its settings
        for name, summary, code in summaries:
            if summary and summary["error"]:
                setting = tap_setting if name == "tap" else None
                return _in_our_terms(TAP, summary["error"], setting), summary["error_type"]
            if code:
                return _ended(name, code), None
        return "the pipeline stopped without saying why", None


def _in_our_terms(plugin: str, error: str, setting: str | None) -> str:
    """A child's error, naming our variable where it names its own setting to check."""
    variable = variable_for(plugin, setting) if setting else None
    return error.replace(f"(check {setting})", f"(check {variable})") if variable else error


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


PRIVATE_PREFIX = "peakon-ingest-"


@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    """The run's private folder (mode 0700), named after this process so a later run can tell when
    it was left behind (kill -9 skips the cleanup below)."""
    path = Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_leftovers() -> list[Path]:
    """Remove the private folders of runs whose process is gone: they hold config files with tokens
    and the MongoDB URI, and answer pages with personal data."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{PRIVATE_PREFIX}*-*"):
        pid = path.name.removeprefix(PRIVATE_PREFIX).split("-", 1)[0]
        if not path.is_dir() or path.owner() != getpass.getuser() or not pid.isdigit():
            continue
        if int(pid) != os.getpid() and not runs_peakon_ingest(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


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
        log_format: str = "text",
        log_level: str = "INFO",
        totals: Mapping[str, int] | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self.tap_config = tap_config
        self.target_config = target_config
        self.state = state
        self.streams = streams
        self.heartbeat = heartbeat
        self.heartbeat_seconds = heartbeat_seconds
        self.structured = log_format == "json"
        self.log_level = log_level
        self._stop = threading.Event()
        self._exits: ChildExits | None = None
        self.progress = Progress(totals)  # per page: running count, rate, ETA where a total is known
        self.timeout_seconds = timeout_seconds
        self.deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds

    def request_stop(self) -> None:
        """Ask the run to stop: the tap ends after its current page, the target commits what it has."""
        self._stop.set()
        if self._exits is not None:
            self._exits.wake()

    def run(self) -> PipelineResult:
        with private_dir() as work:
            return self._run(work)

    def _tap_command(self, work: Path) -> list[str]:
        token_cache = work / "bearer-token"
        config = {**self.tap_config, "token_cache_path": str(token_cache), "summary_path": str(work / "tap.out.json")}
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
        if self.structured:
            env["SINGER_SDK_LOG_CONFIG"] = str(child_log_config(work / "logging.json", self.log_level))
        tap = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self._tap_command(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no thread of ours exists yet
            start_new_session=True,  # a stop signal to our process group is ours to pass on, in order
        )  # fmt: skip
        assert tap.stdout is not None
        assert tap.stderr is not None
        target: subprocess.Popen[bytes] | None = None
        if self.target_config is not None:
            config = {**self.target_config, "summary_path": str(work / "target.out.json")}
            target_config = write_private(work / "target.json", json.dumps(config))
            target = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "target_mongo_upsert", "--config", str(target_config)],
                stdin=tap.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - the readers start below
                start_new_session=True,
            )  # fmt: skip
            tap.stdout.close()  # the target owns the read end now: it sees EOF when the tap exits
        readers = [self._follow(tap.stderr, "tap")]
        if target is None:  # dry run: count what the tap emits, write nothing
            readers.append(_count_records(tap.stdout, result.records))
        else:
            assert target.stderr is not None
            readers.append(self._follow(target.stderr, "target"))
        self._wait(tap, target, result)
        for reader in readers:
            reader.join(timeout=30)
        for line in self.progress.empty_pages():
            log.info("tap: %s", line)
        result.tap = read_summary(work / "tap.out.json", TapSummary)
        result.target = read_summary(work / "target.out.json", TargetSummary)
        token_file = work / "bearer-token"
        if token_file.exists():
            result.new_bearer_token = token_file.read_text(encoding="utf-8").strip() or None
        return result

    def _follow(self, stream: IO[bytes], child: str) -> threading.Thread:
        def pump() -> None:
            for raw in stream:
                forward(child, raw.decode("utf-8", "replace"), structured=self.structured, progress=self.progress)

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        return thread

    def _past_deadline(
        self, children: list[subprocess.Popen[bytes]], result: PipelineResult, *, signalled: bool
    ) -> bool:
        """At the deadline, stop as SIGTERM does (the tap ends its page, the target commits it and saves
        the state); at the end of the grace, kill what is left."""
        tap = children[0]
        if not signalled:
            result.deadline_seconds = self.timeout_seconds
            log.warning(
                "PEAKON_RUN_TIMEOUT (%g s) reached: the tap ends its current page, the target commits it "
                "and saves state", self.timeout_seconds,
            )  # fmt: skip
            if tap.poll() is None:
                tap.send_signal(signal.SIGTERM)
        elif self.deadline is not None and time.monotonic() >= self.deadline + DEADLINE_GRACE_SECONDS:
            for child in children:
                if child.poll() is None:
                    log.warning(
                        "pid %d killed: still running %g s after the deadline", child.pid, DEADLINE_GRACE_SECONDS
                    )
                    child.kill()
        return True

    def _wait(
        self, tap: subprocess.Popen[bytes], target: subprocess.Popen[bytes] | None, result: PipelineResult
    ) -> None:
        last_beat = time.monotonic()
        signalled = False
        last = target or tap
        children = [tap] if target is None else [tap, target]
        self._exits = exits = ChildExits(children)
        deadline = math.inf if self.deadline is None else self.deadline
        try:
            while last.poll() is None or tap.poll() is None:
                if self._stop.is_set() and not signalled:
                    signalled = result.interrupted = True
                    log.warning("stopping: the tap ends its current page, the target commits it and saves state")
                    if tap.poll() is None:
                        tap.send_signal(signal.SIGTERM)
                if time.monotonic() >= deadline:
                    signalled = self._past_deadline(children, result, signalled=signalled)
                if target is not None and target.poll() is not None and tap.poll() is None:
                    tap.kill()  # the target failed: nothing would read the tap's output
                if time.monotonic() - last_beat > self.heartbeat_seconds:
                    last_beat = time.monotonic()
                    try:
                        self.heartbeat()
                    except Exception as err:  # noqa: BLE001 - a missed renewal must not kill the run
                        log.warning("could not renew the run lock (%s); the run goes on", type(err).__name__)
                # Returns as soon as a child exits or a stop is asked for: no tick to wait out.
                # ... or at the deadline (then at the end of its grace).
                stop_at = deadline + (DEADLINE_GRACE_SECONDS if signalled else 0)
                exits.wait(min(last_beat + self.heartbeat_seconds, stop_at) - time.monotonic())
        finally:
            self._exits = None
            exits.close()
        result.tap_exit = tap.returncode
        result.target_exit = None if target is None else target.returncode


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
