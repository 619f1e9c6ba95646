"""`peakon-ingest export`: a mart as CSV, Parquet or JSON lines; a month range of a figures mart is
the sum of its released monthly rows (so it is a sum of whole atoms too)."""

from __future__ import annotations

import io
import sys
from typing import Any

import polars as pl
from pymongo.database import Database

from peakon_ingest.marts import query, release
from peakon_ingest.marts.options import NAMES, PREFIX
from peakon_ingest.marts.out_file import OutFile
from peakon_ingest.marts.query import MONTH

RANGED = ("manager_question", "driver_segment")  # the marts an export can sum over a month range

FORMATS = ("csv", "parquet", "jsonl")


class ExportError(ValueError):
    """The request cannot be met; the message names the argument and what it expects."""


def mart_name(value: str) -> str:
    name = value.removeprefix(PREFIX)
    if name not in NAMES:
        raise ExportError(f"MART: unknown mart {value!r}; expected one of {', '.join(NAMES)}")
    return name


def check(name: str, first: str | None, last: str | None, fmt: str) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"--format: expected one of {', '.join(FORMATS)} (got {fmt!r})")
    for flag, month in (("--from", first), ("--to", last)):
        if month is not None and not MONTH.fullmatch(month):
            raise ExportError(f"{flag}: expected a month as YYYY-MM (got {month!r})")
    if first and last and first > last:
        raise ExportError(f"--from {first} is after --to {last}")
    if (first or last) and name not in RANGED:
        raise ExportError(f"--from/--to: only {' and '.join(RANGED)} aggregate a month range")


def rows(db: Database[dict[str, Any]], name: str, first: str | None, last: str | None) -> pl.DataFrame:
    """The mart's rows; with `first` or `last`, each group's sum over the released months between
    (a range reaching a month not released raises `ExportError`)."""
    if first or last:
        try:
            span = release.span(release.State.load(db), first, last)
        except release.RangeError as err:
            raise ExportError(str(err)) from None
        found = [row for row, _ in release.ranged(db, name, *span)]
    else:
        found = query.stored(db, name)
    return query.frame(found, name)


def encode(frame: pl.DataFrame, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.write_parquet(buffer)
    elif fmt == "jsonl":
        frame.write_ndjson(buffer)
    else:
        return query.csv(frame)
    return buffer.getvalue()


def write(data: bytes, out: OutFile | None) -> None:
    """To the claimed `out` whole (a reader never finds a partial file), or to standard output."""
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    out.commit(data)
