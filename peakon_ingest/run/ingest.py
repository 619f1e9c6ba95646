"""One ingest: lock, token, run record, state, the pipe, and the run's outcome."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from tap_peakon.contract import STREAM_NAMES
from target_mongo_upsert.contract import STATE_COLLECTION, MongoUnavailableError, connect, load_state

from peakon_ingest.marts.options import MartsConfigError
from peakon_ingest.plugin_settings import TARGET_EXTRAS
from peakon_ingest.run import alerts, completeness
from peakon_ingest.run.pipeline import Pipeline, PipelineResult, remove_leftovers
from peakon_ingest.run.run_lock import IngestLock
from peakon_ingest.run.runs import abandon_stale_runs, finish_run, start_run
from peakon_ingest.run.tokens import store_token, stored_token
from peakon_ingest.settings import ConfigError, Settings
from peakon_ingest.stopping import STOP, stop_on_signals

log = logging.getLogger("peakon_ingest")


@dataclass
class IngestOptions:
    full_sync: bool
    dry_run: bool
    streams: list[str] | None


def parse_streams(value: str | None) -> list[str] | None:
    if not value:
        return None
    streams = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in streams if name not in STREAM_NAMES]
    if unknown or not streams:
        named = ", ".join(map(repr, unknown)) or "(none)"
        msg = f"--streams: unknown stream {named}; expected some of {', '.join(STREAM_NAMES)}"
        raise ConfigError(msg)
    return streams


def open_database(settings: Settings) -> tuple[MongoClient[dict[str, Any]], Database[dict[str, Any]]]:
    """Connected and pinged within MONGO_TIMEOUT_SECONDS, else a one-line error naming MONGO_URI."""
    try:
        client = connect(settings.connection_uri(), int(settings.mongo_timeout_seconds * 1000), "MONGO_URI")
    except MongoUnavailableError as err:
        raise ConfigError(f"MONGO_URI: {err}") from None
    return client, client[settings.mongo_db]


class Ingest:
    def __init__(self, settings: Settings, options: IngestOptions) -> None:
        self.settings = settings
        self.options = options
        self.run_id = str(uuid.uuid4())
        # A missing token or a bad variable is a configuration error, before any I/O.
        self.tap_settings = settings.tap_settings()
        self.target_settings = settings.target_settings()

    def tap_config(self, bearer_token: str | None) -> dict[str, Any]:
        config: dict[str, Any] = {**self.tap_settings, "run_id": self.run_id}
        if bearer_token:
            config["bearer_token"] = bearer_token
        return config

    def target_config(self) -> dict[str, Any]:
        return {
            **self.target_settings,
            **TARGET_EXTRAS,
            "run_id": self.run_id,
            "server_selection_timeout_ms": int(self.settings.mongo_timeout_seconds * 1000),
        }

    def run(self) -> tuple[PipelineResult, dict[str, Any] | None]:
        client, db = open_database(self.settings)
        with client, stop_on_signals():
            if self.options.dry_run:
                return self._dry_run(db), None
            return self._run(db)

    def _execute(self, db: Database[dict[str, Any]], *, write: bool, heartbeat: Callable[[], None]) -> PipelineResult:
        """The tap (and, unless a dry run, the target) from the stored token and bookmarks."""
        pipeline = Pipeline(
            tap_config=self.tap_config(stored_token(db, self.settings.base_url, self.tap_settings["app_token"])),
            target_config=self.target_config() if write else None,
            state=None if self.options.full_sync else load_state(db[STATE_COLLECTION]),
            streams=self.options.streams,
            heartbeat=heartbeat,
            log_format=self.settings.log_format,
            log_level=self.settings.log_level,
            totals=last_counts(db),
            timeout_seconds=self.settings.peakon_run_timeout if write else None,
        )
        with STOP.heard_by(lambda _: pipeline.request_stop()):
            return pipeline.run()

    def _dry_run(self, db: Database[dict[str, Any]]) -> PipelineResult:
        """Reads the stored token and state, writes nothing at all."""
        return self._execute(db, write=False, heartbeat=lambda: None)

    def _run(self, db: Database[dict[str, Any]]) -> tuple[PipelineResult, dict[str, Any]]:
        lock = IngestLock(db, self.run_id, self.settings.lock_ttl_seconds)
        lock.acquire()
        try:
            for stale in abandon_stale_runs(db, self.run_id):
                log.warning("run %s never finished; marked abandoned", stale)
            for folder in remove_leftovers():
                log.warning("removed %s, left behind by a run that died", folder)
            mode = "full" if self.options.full_sync else "incremental"
            start_run(db, self.run_id, mode=mode, streams=self.options.streams)
            log.info(
                "run %s: %s sync from %s into %s",
                self.run_id,
                mode,
                self.settings.base_url,
                self.settings.mongo_db,
            )
            try:
                result = self._execute(db, write=True, heartbeat=lock.refresh)
            except Exception as err:
                finish_run(db, self.run_id, status="failure", error=f"peakon-ingest failed: {type(err).__name__}")
                raise
            if result.new_bearer_token:
                store_token(db, self.settings.base_url, self.tap_settings["app_token"], result.new_bearer_token)
            summary = result.tap
            marts = (
                build_recorded(db, self.settings, lock.refresh)
                if result.ok and self.settings.peakon_build_marts
                else {}
            )
            document = finish_run(
                db,
                self.run_id,
                status="success" if result.ok else "interrupted" if result.interrupted else "failure",
                error=result.error,
                error_type=result.error_type,
                requests=summary["requests"] if summary else None,
                retries=summary["retries"] if summary else None,
                retry_waits=summary["retry_waits"] if summary else None,
                pages=summary["pages"] if summary else None,
                skipped_drivers=summary["skipped_drivers"] if summary else None,
                completeness=completeness.check(db, summary) if result.ok and summary else {},
                schema_drift=summary["schema_drift"] if summary else {},
                tap_exit_code=result.tap_exit,
                target_exit_code=result.target_exit,
                **marts,
            )
        finally:
            lock.release()
        alerts.after_run(db, self.settings, document)
        return result, document


def last_counts(db: Database[dict[str, Any]]) -> dict[str, int]:
    """What Peakon said it held at the last run that checked (employees: `/employees/count`), as the
    totals a run's progress estimates against."""
    for run in db["ingestion_runs"].find({}, {"completeness": 1}).sort("started_at", -1).limit(10):
        checks = run.get("completeness") or {}
        totals = {stream: c["expected"] for stream, c in checks.items() if isinstance(c.get("expected"), int)}
        if totals:
            return totals
    return {}


def build_recorded(db: Database[dict[str, Any]], settings: Settings, heartbeat: Callable[[], None]) -> dict[str, Any]:
    """Build the marts; the run document's fields for the outcome (a failure is recorded, not raised:
    the old marts stay as they were)."""
    # Imported here: Polars costs an ingest without marts 1 s of CPU and 50 MB at start-up.
    from peakon_ingest.marts.build import build  # noqa: PLC0415

    started = time.monotonic()
    try:
        marts = build(db, settings.mart_options(), heartbeat)
    except MartsConfigError as err:  # a setting that does not fit the data: exit 2, not 1
        return {"marts_error": str(err), "marts_config_error": True}
    except Exception as err:
        log.exception("building the marts failed")
        return {"marts_error": f"building the marts failed: {type(err).__name__}: {err}"}
    log.info("marts built in %.0f s", time.monotonic() - started)
    return {"marts": marts}


def build_marts(settings: Settings) -> dict[str, Any]:
    """`peakon-ingest marts`: under the ingest lock (never from half-written data), recorded as a run."""
    client, db = open_database(settings)
    with client:
        run_id = str(uuid.uuid4())
        lock = IngestLock(db, run_id, settings.lock_ttl_seconds)
        lock.acquire()
        try:
            start_run(db, run_id, mode="marts", streams=None)
            outcome = build_recorded(db, settings, lock.refresh)
            return finish_run(db, run_id, status="failure" if "marts_error" in outcome else "success", **outcome)
        finally:
            lock.release()
