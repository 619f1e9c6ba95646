"""The operator's command line: `peakon-ingest <command>`, configured by environment variables."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pymongo.errors import PyMongoError

from peakon_ingest import __version__, hints, report
from peakon_ingest.logs import JsonFormatter, json_logs, setup_logging
from peakon_ingest.marts import out_file
from peakon_ingest.run.ingest import Ingest, IngestOptions, build_marts, open_database, parse_streams
from peakon_ingest.run.run_lock import LOCK_ID, LOCKS, LockHeldError
from peakon_ingest.run.runs import now, recent_runs
from peakon_ingest.schedule import health
from peakon_ingest.schedule.daemon import run_scheduler, scheduler_command, supercronic, write_crontab
from peakon_ingest.settings import ConfigError, Settings, load_settings
from peakon_ingest.stopping import STOP, stop_on_signals

HELP_SETTINGS = {"help_option_names": ["-h", "--help"]}
# Plain help (no rich panels): it fits 80 columns, and a flag shows no `<bool>` label.
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Workday Peakon data into MongoDB.",
    epilog=hints.ENVIRONMENT,
    rich_markup_mode=None,
    context_settings=HELP_SETTINGS,
)
# `peakon-marts`: the `marts` command under a name of its own (Meltano runs a utility bare).
marts_app = typer.Typer(add_completion=False, rich_markup_mode=None, context_settings=HELP_SETTINGS)
log = logging.getLogger("peakon_ingest")
T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"peakon-ingest {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Workday Peakon data into MongoDB, kept fresh every week."""


def fail(message: str, code: int) -> typer.Exit:
    """The command's last line: `peakon-ingest: error: ...`, one JSON object under LOG_FORMAT=json."""
    line = f"peakon-ingest: error: {message}"
    if json_logs():
        record = logging.LogRecord(log.name, logging.ERROR, __file__, 0, "%s", (line,), None)
        record.exit_code = code
        line = JsonFormatter().format(record)
    typer.echo(line, err=True)
    return typer.Exit(code)


def configured(action: Callable[[], T]) -> T:
    """Run `action`; a configuration error is one line on stderr and exit code 2."""
    try:
        return action()
    except ConfigError as err:
        raise fail(str(err), EXIT_CONFIG) from None


def settings_or_exit() -> Settings:
    settings = configured(load_settings)
    setup_logging(settings.log_level, settings.log_format)
    return settings


@app.command()
def ingest(
    full_sync: Annotated[
        bool | None, typer.Option("--full-sync/--incremental", help="Refetch everything (default: FULL_SYNC).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run the tap, print counts, write nothing.")] = False,
    streams: Annotated[str | None, typer.Option(metavar="A,B", help="Comma-separated streams (default: all).")] = None,
) -> None:
    """Run one ingest: Peakon -> MongoDB. Exit 0 on success, 1 if the run failed, 2 on bad configuration."""
    settings = settings_or_exit()
    options = IngestOptions(
        full_sync=settings.full_sync if full_sync is None else full_sync,
        dry_run=dry_run,
        streams=configured(lambda: parse_streams(streams)),
    )
    job = configured(lambda: Ingest(settings, options))
    try:
        result, document = configured(job.run)
    except LockHeldError as err:
        raise fail(str(err), EXIT_FAILED) from None
    except PyMongoError as err:
        raise fail(f"MongoDB failed during the run ({type(err).__name__})", EXIT_FAILED) from None
    if settings.log_format == "json":  # the outcome as one more JSON line, not a table
        counts = dict(result.records) if options.dry_run else (document or {}).get("counts") or {}
        log.info("run %s finished", job.run_id, extra={"run_id": job.run_id, "ok": result.ok, "counts": counts})
    elif options.dry_run:
        report.console.print(report.dry_run_table(result.records))
    elif document is not None:
        report.console.print(
            report.counts_table(document.get("counts") or {}, f"run {job.run_id}: {document['status']}")
        )
        if document.get("marts"):
            report.console.print(report.marts_table(document))
    if not result.ok:
        raise fail(f"run failed: {hints.explain(result.error or '')}", EXIT_FAILED)
    if document and document.get("marts_error"):
        code = EXIT_CONFIG if document.get("marts_config_error") else EXIT_FAILED
        raise fail(f"the data is stored, but {document['marts_error']}", code)


@marts_app.command()
@app.command()
def marts() -> None:
    """Build the analytics marts (mart_*): release the months that became due. Exit 0 when built, 1 if
    not (the audit failed, or another error), 2 if a marts setting does not fit what is stored."""
    settings = settings_or_exit()
    try:
        document = configured(lambda: build_marts(settings))
    except LockHeldError as err:
        raise fail(str(err), EXIT_FAILED) from None
    if document.get("marts_error"):
        raise fail(document["marts_error"], EXIT_CONFIG if document.get("marts_config_error") else EXIT_FAILED)
    if settings.log_format == "json":
        log.info("marts built", extra={"run_id": document["_id"], "marts": document["marts"]})
    else:
        report.console.print(report.marts_table(document))


@app.command()
def export(
    mart: Annotated[str, typer.Argument(help="org, manager_question, driver_segment, participation or release.")],
    first: Annotated[str | None, typer.Option("--from", help="First month (YYYY-MM) of a range.")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last month (YYYY-MM) of a range.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or jsonl.")] = "csv",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="A regular file or a new path, written 0600 (default or '-': standard output)."),
    ] = None,
) -> None:
    """Write a mart to a file. With --from/--to, manager_question and driver_segment are each group's
    released monthly rows summed over that month range (only released months)."""
    from peakon_ingest.marts import export as exporting  # noqa: PLC0415 - Polars only where it is used

    settings = settings_or_exit()
    try:
        name = exporting.mart_name(mart)
        exporting.check(name, first, last, fmt)
    except exporting.ExportError as err:
        raise fail(str(err), EXIT_CONFIG) from None
    try:
        destination = out_file.claim(out)
    except out_file.OutFileError as err:  # before any work: nothing computed, nothing written
        raise fail(str(err), EXIT_CONFIG) from None
    with destination or contextlib.nullcontext():
        client, db = configured(lambda: open_database(settings))
        with client:
            try:
                frame = exporting.rows(db, name, first, last)
            except exporting.ExportError as err:
                raise fail(str(err), EXIT_CONFIG) from None
        try:
            exporting.write(exporting.encode(frame, fmt), destination)
        except out_file.OutFileError as err:
            raise fail(str(err), EXIT_CONFIG) from None
    if destination is not None:
        log.info("%d rows of %s written to %s", frame.height, name, destination.path)


@app.command()
def runs(limit: Annotated[int, typer.Option(min=1, metavar="N", help="How many runs to show.")] = 10) -> None:
    """A table of recent runs, newest first."""
    settings = settings_or_exit()
    client, db = configured(lambda: open_database(settings))
    with client:
        report.console.print(report.runs_table(recent_runs(db, limit)))


@app.command()
def status(
    check: Annotated[
        bool,
        typer.Option("--check", help="One line; exit 0 if the last run succeeded and the next is not overdue, else 1."),
    ] = False,
) -> None:
    """The latest run, the next one, every bookmark and the lock (--check: the container's health)."""
    settings = settings_or_exit()
    client, db = configured(lambda: open_database(settings))
    with client:
        if check:
            grace = dt.timedelta(seconds=settings.health_grace_seconds)
            healthy, why = health.check(db, settings.schedule(), grace, now())
            typer.echo(why)
            raise typer.Exit(EXIT_OK if healthy else EXIT_FAILED)
        latest = recent_runs(db, 1)
        if latest:
            report.console.print(report.runs_table(latest))
        else:
            report.console.print(hints.NO_RUNS)
        for run in latest:
            report.console.print(report.completeness_line(run))
        built = db["ingestion_runs"].find_one({"marts": {"$exists": True}}, sort=[("started_at", -1)])
        if built:
            report.console.print(report.marts_table(built))
        upcoming = settings.schedule().after(now()).isoformat()
        report.console.print(f"next run: {upcoming} ({settings.schedule_cron}, {settings.cron_tz or 'UTC'})")
        report.console.print(report.bookmarks_table(db["sync_state"].find().sort("_id", 1)))
        lock: dict[str, Any] | None = db[LOCKS].find_one({"_id": LOCK_ID})
        if lock:
            report.console.print(f"ingest lock held by run {lock.get('owner')} until {lock.get('expires_at_utc')}")


@app.command()
def daemon(
    crontab: Annotated[Path | None, typer.Option(help="Where to write the crontab.")] = None,
) -> None:
    """Check settings and MongoDB, ingest once if RUN_ON_START, then run the schedule with supercronic."""
    with stop_on_signals():  # from the start: a stop between the start-up ingest and the schedule counts too
        settings = settings_or_exit()
        executable = configured(lambda: supercronic(settings))
        configured(settings.tap_settings)
        configured(settings.target_settings)
        client, _ = configured(lambda: open_database(settings))
        client.close()
        if settings.run_on_start:
            try:
                ingest(full_sync=None, dry_run=False, streams=None)
            except typer.Exit as done:
                if done.exit_code == EXIT_CONFIG:
                    raise
                if done.exit_code:
                    log.warning("the start-up ingest failed; the schedule runs anyway")
        if STOP.is_set():
            log.warning("stopped during the start-up ingest: the schedule is not started")
            return
        path = write_crontab(settings, crontab or Path(tempfile.gettempdir()) / "peakon-ingest.crontab")
        log.info(
            "schedule %r (%s) written to %s; next run %s; supercronic runs it",
            settings.schedule_cron, settings.cron_tz or "UTC", path, settings.schedule().after(now()).isoformat(),
        )  # fmt: skip
        code = run_scheduler(scheduler_command(executable, path, settings), STOP)
    if code:
        raise typer.Exit(code)


@app.command()
def web(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: PEAKON_WEB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: PEAKON_WEB_PORT).")] = None,
) -> None:
    """Serve the released figures as pages (peakon_ingest/web/README.md)."""
    from peakon_ingest.web.serve import serve  # noqa: PLC0415 - the web stack only where it is used

    settings = settings_or_exit()
    serve(settings, host or settings.peakon_web_host, port or settings.peakon_web_port)


web_user = typer.Typer(help="The people who may open the pages (web_users).", no_args_is_help=True)
app.add_typer(web_user, name="web-user")


@web_user.command("add")
def web_user_add(
    name: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[str, typer.Option(help="analyst or admin.")] = "analyst",
) -> None:
    """Add a user (or set their password and role); the password is read from standard input."""
    from peakon_ingest.web import users  # noqa: PLC0415

    settings = settings_or_exit()
    password = sys.stdin.readline().rstrip("\r\n")
    client, db = configured(lambda: open_database(settings))
    with client:
        try:
            users.add(db, name, role, password)
        except users.UserError as err:
            raise fail(str(err), EXIT_CONFIG) from None
    typer.echo(f"{name}: {role}")


@web_user.command("remove")
def web_user_remove(name: Annotated[str, typer.Argument(help="The login name.")]) -> None:
    """Remove a user (their open sessions end within 12 hours)."""
    from peakon_ingest.web import users  # noqa: PLC0415

    settings = settings_or_exit()
    client, db = configured(lambda: open_database(settings))
    with client:
        if not users.remove(db, name):
            raise fail(f"NAME: no user {name!r}", EXIT_FAILED)


@web_user.command("list")
def web_user_list() -> None:
    """Every user and their role."""
    from peakon_ingest.web import users  # noqa: PLC0415

    settings = settings_or_exit()
    client, db = configured(lambda: open_database(settings))
    with client:
        for user in users.listed(db):
            typer.echo(f"{user.name}\t{user.role}")


def main() -> None:
    app()


def marts_main() -> None:
    marts_app()


if __name__ == "__main__":
    main()
