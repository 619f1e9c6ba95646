"""Tables for the terminal (rich)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from peakon_ingest.marts.options import PREFIX

console = Console()


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value or "")[:19].replace("T", " ")


COUNT_COLUMNS = ("records", "inserted", "changed", "unchanged", "removed", "rejected")


def _table(title: str) -> Table:
    """A table that fits 80 columns: no side borders, two spaces between columns."""
    return Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))


def _column(table: Table, header: str, **options: Any) -> None:
    """A column never narrower than its header, so none shrinks to `…` or to nothing."""
    table.add_column(header, min_width=len(header), **options)


def counts_table(counts: Mapping[str, Mapping[str, int]], title: str) -> Table:
    table = _table(title)
    _column(table, "collection", no_wrap=True)
    for column in COUNT_COLUMNS:
        _column(table, "received" if column == "records" else column, justify="right")
    for name in sorted(counts):
        table.add_row(name, *(str(counts[name].get(column, 0)) for column in COUNT_COLUMNS))
    return table


def dry_run_table(records: Mapping[str, int]) -> Table:
    table = _table("dry run: records per stream (nothing written)")
    _column(table, "stream", no_wrap=True)
    _column(table, "records", justify="right")
    for name in sorted(records):
        table.add_row(name, str(records[name]))
    return table


def runs_table(runs: Iterable[Mapping[str, Any]]) -> Group:
    """A row per run; each failed run's error in full under the table (a column would squeeze it)."""
    table = _table("recent runs")
    for column in ("run", "started (UTC)", "status", "mode", "secs", "written", "reqs", "retries"):
        _column(table, column, no_wrap=True)
    errors: list[Text] = []
    for run in runs:
        written = sum(c.get("inserted", 0) + c.get("changed", 0) for c in (run.get("counts") or {}).values())
        table.add_row(
            str(run["_id"])[:8], _when(run.get("started_at"))[5:16], str(run.get("status", "")),
            str(run.get("mode", ""))[:4],
            str(run.get("duration_seconds", "")), str(written), str(run.get("requests", "")),
            str(run.get("retries", "")),
        )  # fmt: skip
        if run.get("error"):
            errors.append(Text(f"run {str(run['_id'])[:8]} {run.get('status', '')}: {run['error']}", overflow="fold"))
    return Group(table, *errors)


def bookmarks_table(documents: Iterable[Mapping[str, Any]]) -> Table:
    table = _table("bookmarks (sync_state)")
    _column(table, "stream", no_wrap=True)
    _column(table, "bookmark", overflow="fold")
    _column(table, "updated", no_wrap=True)
    for doc in documents:
        if doc["_id"] == "singer_state":
            continue
        value = ", ".join(f"{k}={v}" for k, v in doc.items() if k not in {"_id", "updated_at"})
        table.add_row(str(doc["_id"]), value, _when(doc.get("updated_at")))
    return table


def completeness_line(run: Mapping[str, Any]) -> str:
    """What the latest run found missing, or that it found nothing missing."""
    checks = run.get("completeness") or {}
    short = [f"{stream} ({c.get('expected', c.get('reached'))} at Peakon, {c.get('stored')} stored)"
             for stream, c in checks.items() if not c.get("ok")]  # fmt: skip
    drift = run.get("schema_drift") or {}
    line = f"incomplete: {', '.join(short)}" if short else f"complete: {', '.join(checks) or 'nothing to check'}"
    if drift:
        line += "; schema drift: " + ", ".join(f"{s}: {', '.join(fields)}" for s, fields in drift.items())
    return line


def marts_table(run: Mapping[str, Any]) -> Table:
    """Per mart of a run: rows and seconds; the months released, late answers and coverage below."""
    marts = run.get("marts") or {}
    table = _table(f"marts (read {marts.get('read_seconds', 0)} s, built in {marts.get('seconds', 0)} s)")
    _column(table, "mart", no_wrap=True)
    for column in ("rows", "seconds"):
        _column(table, column, justify="right")
    for name, figures in marts.items():
        if isinstance(figures, Mapping) and "rows" in figures:
            table.add_row(PREFIX + name, str(figures.get("rows", "")), str(figures.get("seconds", "")))
    coverage = marts.get("coverage") or {}
    table.caption = (
        f"released: {', '.join(marts.get('released') or []) or 'none'}; late answers: {marts.get('late_answers', 0)}; "
        f"coverage: {', '.join(f'{k} {v}' for k, v in coverage.items())}"
    )
    return table
