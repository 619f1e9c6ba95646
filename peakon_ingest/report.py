"""Tables for the terminal (rich)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value or "")[:19].replace("T", " ")


def counts_table(counts: Mapping[str, Mapping[str, int]], title: str) -> Table:
    table = Table(title=title)
    for column in ("collection", "received", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(column, justify="left" if column == "collection" else "right")
    for name in sorted(counts):
        c = counts[name]
        matched, modified = c.get("matched", 0), c.get("modified", 0)
        table.add_row(
            name, str(c.get("records", 0)), str(c.get("upserted", 0)), str(modified), str(matched - modified),
            str(c.get("rejected", 0)),
        )  # fmt: skip
    return table


def dry_run_table(records: Mapping[str, int]) -> Table:
    table = Table(title="dry run: records per stream (nothing written)")
    table.add_column("stream")
    table.add_column("records", justify="right")
    for name in sorted(records):
        table.add_row(name, str(records[name]))
    return table


def runs_table(runs: Iterable[Mapping[str, Any]]) -> Table:
    table = Table(title="recent runs")
    for column in ("run", "started (UTC)", "status", "mode", "secs", "written", "reqs", "retries"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    for run in runs:
        written = sum(c.get("upserted", 0) + c.get("modified", 0) for c in (run.get("counts") or {}).values())
        table.add_row(
            str(run["_id"])[:8], _when(run.get("started_at"))[5:16], str(run.get("status", "")),
            str(run.get("mode", ""))[:4],
            str(run.get("duration_seconds", "")), str(written), str(run.get("requests", "")),
            str(run.get("retries", "")), str(run.get("error") or ""),
        )  # fmt: skip
    return table


def bookmarks_table(documents: Iterable[Mapping[str, Any]]) -> Table:
    table = Table(title="bookmarks (sync_state)")
    table.add_column("stream")
    table.add_column("bookmark")
    table.add_column("updated")
    for doc in documents:
        if doc["_id"] == "singer_state":
            continue
        value = ", ".join(f"{k}={v}" for k, v in doc.items() if k not in {"_id", "updated_at"})
        table.add_row(str(doc["_id"]), value, _when(doc.get("updated_at")))
    return table
