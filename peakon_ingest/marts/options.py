"""What configures the marts and what they are called, apart from the code that computes them: the
operator's settings and reports need these, and an ingest should not load Polars to start."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "mart_"  # every mart's collection: mart_<name>
NAMES = ("org", "manager_question", "driver_segment", "participation")
DEFAULT_SEGMENTS = ("Department", "Sub-Department")


@dataclass(frozen=True)
class Options:
    min_respondents: int
    segments: tuple[str, ...] = DEFAULT_SEGMENTS
