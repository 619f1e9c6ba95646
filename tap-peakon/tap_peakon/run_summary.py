"""What the run did, written as JSON to the configured `summary_path` when the tap ends.

This file is the tap's contract with whatever runs it (the operator reads it instead of log text;
its type is `contract.TapSummary`): `requests`, `retries`, `retry_waits` (the seconds waited before
each retry), `pages`,
`pages_by_stream`, `ignored` (per stream, requests answered with a status the stream's error policy
ignores), `skipped_drivers`, `expected` (what the API counts, e.g. employees), `answers_reached`
(the largest answerId exported), `schema_drift` (per stream, fields its schema does not describe,
with how many records had them), and `error` with `error_type` (both null on success) and
`error_setting` (the setting the error asks to check, e.g. `base_url`, else null).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from tap_peakon.contract import TapSummary
from tap_peakon.private_files import write_private

DRIVER_SCORES_STREAM = "scores_by_driver"


@dataclass
class RunStats:
    requests: int = 0
    retry_waits: list[float] = field(default_factory=list)
    pages_by_stream: dict[str, int] = field(default_factory=dict)
    ignored: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    expected: dict[str, int] = field(default_factory=dict)  # what the API says it holds, where it says
    answers_reached: int | None = None  # the largest answerId the export reached in this run
    # per stream, per field path the stream's schema does not describe: how many records had it
    schema_drift: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    @property
    def retries(self) -> int:
        return len(self.retry_waits)

    @property
    def pages(self) -> int:
        return sum(self.pages_by_stream.values())

    @property
    def skipped_drivers(self) -> set[str]:
        """Drivers whose score request Peakon refused (the last segment of each ignored path)."""
        return {path.rstrip("/").rsplit("/", 1)[-1] for path in self.ignored.get(DRIVER_SCORES_STREAM, set())}

    def summary(self, error: BaseException | None = None) -> TapSummary:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "retry_waits": [round(wait, 3) for wait in self.retry_waits],
            "pages": self.pages,
            "pages_by_stream": self.pages_by_stream,
            "ignored": {stream: len(paths) for stream, paths in self.ignored.items()},
            "skipped_drivers": len(self.skipped_drivers),
            "expected": self.expected,
            "answers_reached": self.answers_reached,
            "schema_drift": {stream: dict(fields) for stream, fields in self.schema_drift.items()},
            "error": None if error is None else str(error) or type(error).__name__,
            "error_type": None if error is None else type(error).__name__,
            "error_setting": getattr(error, "setting", None),
        }

    def write(self, path: str | Path, error: BaseException | None = None) -> None:
        write_private(Path(path), msgspec.json.encode(self.summary(error)))
