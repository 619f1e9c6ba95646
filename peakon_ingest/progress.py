"""Per-page progress of a run, for people: records, running count, rate, and total and ETA where a
total is known; pages with no records counted, and summarised once per stream at the end.

Fed by the tap's page line (its format, `<stream> page <n>: <records> records in <s>s`, matched
whole), which is only shown, never stored: the run's figures come from the children's summaries.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

PAGE = re.compile(r"(?P<stream>\w+) page (?P<page>\d+): (?P<records>\d+) records in (?P<seconds>[\d.]+)s")


@dataclass
class _Stream:
    started: float
    records: int = 0
    empty: int = 0


class Progress:
    def __init__(self, totals: Mapping[str, int] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.totals = dict(totals or {})
        self.clock = clock
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()  # the tap's reader thread adds, the run's thread summarises

    def page(self, stream: str, number: int, records: int, seconds: float) -> tuple[str, dict[str, object]] | None:
        """The line to show for a page and its figures, or None for a page with no records. A stream's
        rate runs from the start of its first page (its own request time before it was seen)."""
        with self._lock:
            now = self.clock()
            seen = self._streams.get(stream)
            if seen is None:
                seen = self._streams[stream] = _Stream(started=now - seconds)
            if not records:
                seen.empty += 1
                return None
            seen.records += records
            elapsed = max(now - seen.started, 1e-3)
            rate = seen.records / elapsed
            figures: dict[str, object] = {"stream": stream, "page": number, "records": records,
                                          "so_far": seen.records, "per_second": round(rate)}  # fmt: skip
            line = f"{stream} page {number}: {records} records; {seen.records} so far, {rate:,.0f}/s"
            total = self.totals.get(stream)
            if total:
                left = max(total - seen.records, 0)
                eta = left / rate if rate else 0
                figures.update(total=total, eta_seconds=round(eta))
                line += f", {min(seen.records / total, 1):.0%} of {total}, ETA {eta:.0f} s"
            return line, figures

    def empty_pages(self) -> list[str]:
        """One line per stream that had pages with no records (a driver without scores, ...)."""
        with self._lock:
            return [
                f"{stream}: {seen.empty} page{'s' * (seen.empty != 1)} with no records"
                for stream, seen in self._streams.items()
                if seen.empty
            ]
